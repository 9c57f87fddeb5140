import { IsleError } from "@isle/errors";
import type { controlV1 } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import { isolateOf, type DeploymentKey } from "./loaded-functions.js";
import type { ArtifactSource, EnvSource, FunctionRuntime } from "./runtimes/runtime.js";
import type { AgentState } from "./server.js";

/** How long a prewarm may take to fetch code and env and load the isolate. */
export const prewarmTimeoutMs = 30_000;

export interface AgentCommandsDeps {
  runtime: FunctionRuntime;
  state: AgentState;
  logger: Logger;
  /** For a runtime that cannot prewarm: a prewarm then fetches code and env into these caches. */
  artifacts?: ArtifactSource;
  env?: EnvSource;
  /**
   * The function's current env reference, for a prewarm that names none;
   * such a prewarm is refused when absent.
   */
  currentEnvRef?: (tenantId: string, functionId: string) => Promise<string>;
  /** Called when the drain state changes, so the control planes hear it before the next heartbeat. */
  onDrainChange?: (draining: boolean) => void;
}

/** A deployment to prewarm: its ids, artifact and env reference (empty: the function's current env). */
export type PrewarmTarget = DeploymentKey & { artifactHash: string; envRef: string };

/**
 * What the control plane (ControlCommand on the Register stream) and the
 * Agent service's unary RPCs ask of this agent: prewarm, evict, drain. Both
 * paths run this one implementation. Failures are IsleErrors: `bad_request`
 * (the env reference is not the function's), `unavailable` (draining),
 * `function_quarantined`, and the runtime's own (runtime.ts).
 */
export class AgentCommands {
  constructor(private readonly deps: AgentCommandsDeps) {}

  /** Loads the deployment's isolate here; resolves with whether this call loaded it. */
  async prewarm(target: PrewarmTarget): Promise<{ coldStart: boolean }> {
    const { runtime, state, currentEnvRef } = this.deps;
    const envRef = target.envRef === "" && currentEnvRef ? await currentEnvRef(target.tenantId, target.functionId) : target.envRef;
    const isolate = isolateOf(target, envRef);
    if (!isolate || !target.deploymentId || !target.artifactHash) {
      throw new IsleError("bad_request", "the prewarm target's env reference or artifact does not name its function");
    }
    if (state.draining) throw new IsleError("unavailable", "the agent is draining");
    if (state.quarantine.isQuarantined(target.tenantId, target.deploymentId)) {
      throw new IsleError("function_quarantined", "this version of the function stalled its runtime repeatedly");
    }
    let coldStart = true;
    if (runtime.prewarm) {
      ({ coldStart } = await runtime.prewarm(isolate, prewarmTimeoutMs));
    } else {
      await Promise.all([this.deps.artifacts?.get(isolate.artifactHash), this.deps.env?.get(isolate.envRef)]);
    }
    state.loaded.loaded(target, isolate);
    return { coldStart };
  }

  /**
   * Takes the deployment off this agent once its in-flight invocations end; returns how many isolates leave.
   * The caches let go of its code and env, but its workerd isolate stays in memory until its
   * process is recycled (workerd never unloads one; WorkerdRuntime's `recycleBytes`).
   */
  evict(target: DeploymentKey): number {
    return this.deps.state.loaded.evict(target);
  }

  /** Out of service (resume false) or back in (true); returns the invocations in flight. */
  drain(resume: boolean): number {
    const { state, logger } = this.deps;
    const draining = !resume;
    if (state.draining !== draining) {
      state.draining = draining;
      logger.info({ inFlight: state.inFlight.count }, draining ? "draining" : "back in service");
      this.deps.onDrainChange?.(draining);
    }
    return state.inFlight.count;
  }

  /** Runs a command from a control plane. Nothing is answered on the stream: the reports show the effect. */
  handle(command: controlV1.ControlCommand, from: string): void {
    const { logger } = this.deps;
    switch (command.command?.$case) {
      case "prewarm": {
        const target = command.command.value;
        const fields = { controlPlane: from, tenantId: target.tenantId, functionId: target.functionId, deploymentId: target.deploymentId };
        this.prewarm(target).then(
          ({ coldStart }) => logger.info({ ...fields, coldStart }, "prewarmed"),
          (err: unknown) => logger.warn({ ...fields, code: err instanceof IsleError ? err.code : "internal" }, "prewarm failed"),
        );
        return;
      }
      case "evict": {
        const target = command.command.value;
        const evicted = this.evict(target);
        logger.info({ controlPlane: from, tenantId: target.tenantId, functionId: target.functionId, deploymentId: target.deploymentId, evicted }, "evicting");
        return;
      }
      case "drain":
        this.drain(command.command.value.resume);
        return;
      default:
        return;
    }
  }
}
