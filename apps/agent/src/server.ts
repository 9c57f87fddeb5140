import * as grpc from "@grpc/grpc-js";
import { IsleError, type ErrorCode } from "@isle/errors";
import { agentV1, grpcChannelOptions } from "@isle/proto";
import type { Logger, Tracing } from "@isle/telemetry";
import { AgentCommands } from "./agent-commands.js";
import { ConcurrencySlots } from "./invoke/concurrency-slots.js";
import { createInvokeHandler, type InvokeState } from "./invoke/mux.js";
import { LoadedFunctions } from "./loaded-functions.js";
import type { AgentMetrics } from "./metrics/agent-metrics.js";
import { Quarantine } from "./quarantine.js";
import type { FunctionRuntime } from "./runtimes/runtime.js";

export interface AgentServerDeps {
  agentId: string;
  runtime: FunctionRuntime;
  state: AgentState;
  logger: Logger;
  /** Counts invocations and cold starts when given. */
  metrics?: AgentMetrics;
  /** Spans of invocations and isolate calls; off when absent. */
  tracing?: Tracing;
  /** Prewarm, evict and drain, shared with the control plane's commands; built from the rest when absent. */
  commands?: AgentCommands;
}

/** The agent's state that other parts read: load and drain. */
export type AgentState = InvokeState;

export function createAgentState(quarantine = new Quarantine(), loaded = new LoadedFunctions()): AgentState {
  return { inFlight: { count: 0 }, draining: false, quarantine, concurrency: new ConcurrencySlots(), loaded };
}

/**
 * Resolves true once no invocation is in flight, or false after `timeoutMs`
 * with some still running. Polls: an agent stops once, and 20 ms is well
 * below anything a caller of stop notices.
 */
export async function untilIdle(state: Pick<AgentState, "inFlight">, timeoutMs: number): Promise<boolean> {
  for (const until = Date.now() + timeoutMs; state.inFlight.count > 0; ) {
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(20, until - Date.now())));
  }
  return true;
}

/**
 * Builds the Agent gRPC service (bound by main.ts to a Unix socket that only
 * the node's sidecar reaches).
 */
export function createAgentServer({ agentId, runtime, state, logger, metrics, tracing, commands: given }: AgentServerDeps): grpc.Server {
  const invoke = createInvokeHandler(runtime, state, logger, metrics, tracing);
  const commands = given ?? new AgentCommands({ runtime, state, logger });
  const missingFunction = { code: grpc.status.INVALID_ARGUMENT, details: "the request names no function" };

  const handlers: agentV1.AgentServer = {
    invoke,
    prewarm({ request }, callback) {
      const fn = request.function;
      if (!fn) return callback(missingFunction);
      commands.prewarm({ ...fn, envRef: request.envRef }).then(
        (result) => callback(null, result),
        (err: unknown) => callback(toServiceError(err)),
      );
    },
    evict({ request }, callback) {
      if (!request.function) return callback(missingFunction);
      callback(null, { evicted: commands.evict(request.function) });
    },
    drain({ request }, callback) {
      callback(null, { inFlight: commands.drain(request.resume) });
    },
    status(_call, callback) {
      const s = runtime.status();
      callback(null, {
        agentId,
        inFlight: state.inFlight.count,
        workerdProcesses: s.processes,
        workerdReady: s.ready,
        loadedIsolates: state.loaded.isolateCount,
        draining: state.draining,
      });
    },
  };
  const server = new grpc.Server(grpcChannelOptions);
  server.addService(agentV1.AgentService, handlers);
  return server;
}

/** An IsleError of a prewarm as the gRPC status the caller (a gateway, through the sidecar) sees. */
function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  if (!(err instanceof IsleError)) return { code: grpc.status.INTERNAL, details: "the agent failed to prewarm the function" };
  const codes: Partial<Record<ErrorCode, grpc.status>> = {
    bad_request: grpc.status.INVALID_ARGUMENT,
    function_quarantined: grpc.status.FAILED_PRECONDITION,
    unavailable: grpc.status.UNAVAILABLE,
    upstream_failed: grpc.status.UNAVAILABLE,
    timeout: grpc.status.DEADLINE_EXCEEDED,
    cpu_limit: grpc.status.DEADLINE_EXCEEDED,
    function_error: grpc.status.ABORTED,
    memory_limit: grpc.status.ABORTED,
  };
  return { code: codes[err.code] ?? grpc.status.INTERNAL, details: `${err.code}: ${err.message}` };
}
