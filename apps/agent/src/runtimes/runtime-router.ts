import { IsleError } from "@isle/errors";
import { isContainerArtifact } from "@isle/proto";
import type { ArtifactSource, EnvSource, FunctionRuntime, IsolateSource, RuntimeRequest, RuntimeResponse, RuntimeStatus } from "./runtime.js";

type Kind = "isolate" | "container";

export interface RuntimeRouterOptions {
  isolates: FunctionRuntime;
  /** Runs container functions; absent when this agent cannot (the reason says why). */
  containers: FunctionRuntime | undefined;
  /** Why `containers` is absent, for the error a container function's request gets. */
  noContainersReason?: string;
  artifacts: ArtifactSource;
  /**
   * The env the isolate will ask for: fetched alongside an artifact the agent
   * has not seen, so a cold start waits for one control-plane round trip, not
   * two in turn (the supervisor asks for the env only once the artifact came).
   */
  env?: EnvSource;
}

/** Kinds remembered by artifact hash; a long-lived agent forgets the oldest past this. */
const maxRememberedKinds = 100_000;

/**
 * The agent's one FunctionRuntime: sends each request to the isolate runtime
 * or the container runtime by what its artifact is (ADR 0029). The artifact
 * says so in its first bytes, so a deployment can never be run by the wrong
 * runtime whatever the function's settings say now. The kind is looked up
 * once per artifact hash (from the agent's artifact cache, which the isolate
 * runtime then reads anyway) and remembered.
 */
export class RuntimeRouter implements FunctionRuntime {
  private readonly kinds = new Map<string, Kind>();

  constructor(private readonly options: RuntimeRouterOptions) {}

  async start(): Promise<void> {
    await Promise.all([this.options.isolates.start(), this.options.containers?.start()]);
  }

  invoke(request: RuntimeRequest): Promise<RuntimeResponse> {
    const known = this.kinds.get(request.artifactHash);
    if (known) {
      try {
        return this.runtimeFor(known).invoke(request);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    // A failed prefetch is not this request's failure: the runtime's own fetch retries and reports it.
    this.options.env?.get(request.envRef).catch(() => undefined);
    return this.kindOf(request.artifactHash).then((kind) => this.runtimeFor(kind).invoke(request));
  }

  async prewarm(isolate: IsolateSource, timeoutMs: number): Promise<{ coldStart: boolean }> {
    const runtime = this.runtimeFor(await this.kindOf(isolate.artifactHash));
    if (runtime.prewarm) return runtime.prewarm(isolate, timeoutMs);
    return { coldStart: true };
  }

  abandonedVerdict(signal: AbortSignal): Promise<"runaway" | "alive"> {
    // Only the isolate runtime kills processes for a runaway; the container runtime never does.
    return this.options.isolates.abandonedVerdict?.(signal) ?? Promise.resolve("alive");
  }

  async evict(isolateIds: readonly string[]): Promise<void> {
    await Promise.all([this.options.isolates.evict?.(isolateIds), this.options.containers?.evict?.(isolateIds)]);
  }

  /** The isolate runtime's processes: what the agent reports as `workerd_ready`. */
  status(): RuntimeStatus {
    return this.options.isolates.status();
  }

  /** The container runtime's replicas, for metrics; zeros when it is absent. */
  containerStatus(): RuntimeStatus {
    return this.options.containers?.status() ?? { processes: 0, ready: 0, inFlight: 0 };
  }

  async stop(): Promise<void> {
    await Promise.all([this.options.isolates.stop(), this.options.containers?.stop()]);
  }

  private runtimeFor(kind: Kind): FunctionRuntime {
    if (kind === "isolate") return this.options.isolates;
    if (this.options.containers) return this.options.containers;
    throw new IsleError("unavailable", `this node does not run container functions: ${this.options.noContainersReason ?? "not enabled"}`);
  }

  private async kindOf(hash: string): Promise<Kind> {
    let bytes: Buffer;
    try {
      bytes = await this.options.artifacts.get(hash);
    } catch {
      throw new IsleError("upstream_failed", "the function's code could not be loaded on this node");
    }
    const kind: Kind = isContainerArtifact(bytes) ? "container" : "isolate";
    if (this.kinds.size >= maxRememberedKinds) this.kinds.clear();
    this.kinds.set(hash, kind);
    return kind;
  }
}
