import * as grpc from "@grpc/grpc-js";
import { agentV1, grpcChannelOptions } from "@isle/proto";
import type { Logger, Tracing } from "@isle/telemetry";
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
}

/** The agent's state that other parts read: load and drain. */
export type AgentState = InvokeState;

export function createAgentState(quarantine = new Quarantine(), loaded = new LoadedFunctions()): AgentState {
  return { inFlight: { count: 0 }, draining: false, quarantine, concurrency: new ConcurrencySlots(), loaded };
}

/**
 * Builds the Agent gRPC service (bound by main.ts to a Unix socket that only
 * the node's sidecar reaches).
 */
export function createAgentServer({ agentId, runtime, state, logger, metrics, tracing }: AgentServerDeps): grpc.Server {
  const invoke = createInvokeHandler(runtime, state, logger, metrics, tracing);
  const notYet = (what: string) => (_call: unknown, callback: grpc.sendUnaryData<never>) =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: `${what} is not supported by this agent yet` });

  const handlers: agentV1.AgentServer = {
    invoke,
    prewarm: notYet("Prewarm"),
    evict: notYet("Evict"),
    drain(_call, callback) {
      state.draining = true;
      logger.info({ inFlight: state.inFlight.count }, "draining");
      callback(null, { inFlight: state.inFlight.count });
    },
    status(_call, callback) {
      const s = runtime.status();
      callback(null, {
        agentId,
        inFlight: state.inFlight.count,
        workerdProcesses: s.processes,
        workerdReady: s.ready,
        loadedIsolates: 0,
        draining: state.draining,
      });
    },
  };
  const server = new grpc.Server(grpcChannelOptions);
  server.addService(agentV1.AgentService, handlers);
  return server;
}
