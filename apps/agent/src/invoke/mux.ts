import type * as grpc from "@grpc/grpc-js";
import { IsleError } from "@isle/errors";
import { agentV1, carriesEntry, relayedWholeAnswersMetadata } from "@isle/proto";
import type { Logger, Tracing } from "@isle/telemetry";
import { isolateOf, type LoadedFunctions } from "../loaded-functions.js";
import type { FunctionRuntime } from "../runtimes/runtime.js";
import type { AgentMetrics } from "../metrics/agent-metrics.js";
import type { Quarantine } from "../quarantine.js";
import { concurrencyKey, type ConcurrencySlots } from "./concurrency-slots.js";
import { ServerChannel } from "./server-channel.js";

type Call = grpc.ServerDuplexStream<agentV1.InvokeFrame, agentV1.InvokeFrame>;

/** What the agent counts and checks across all streams. */
export interface InvokeState {
  inFlight: { count: number };
  draining: boolean;
  /** Deployments refused here after stalling workerd repeatedly. */
  quarantine: Quarantine;
  /** In-flight invocations per function, against each function's concurrency limit. */
  concurrency: ConcurrencySlots;
  /** Deployments loaded here and their invocations in flight, for the reports. */
  loaded: LoadedFunctions;
}

/**
 * Serves Agent.Invoke: one long-lived stream carrying many invocations, each
 * on its own channel. Frames are routed to their channel; a channel that
 * ends sends its trailer; the stream's end or failure cancels what still runs.
 * A channel the agent will not run (draining, function at its concurrency
 * limit) is answered with a trailer alone, at once. Output an invocation
 * writes after its trailer goes on channel 0 as LateLogs, while the stream
 * lasts. A stream its sidecar opened with the relayed whole-answers entry
 * gets small complete answers as one response head (agent.proto).
 */
export function createInvokeHandler(runtime: FunctionRuntime, state: InvokeState, logger: Logger, metrics?: AgentMetrics, tracing?: Tracing) {
  return function invoke(call: Call): void {
    const channels = new Map<number, ServerChannel>();
    const wholeAnswers = carriesEntry(call.metadata, relayedWholeAnswersMetadata);
    let callerDone = false;

    const sendOn = (channel: number) => (frame: agentV1.InvokeFrame["frame"]) => {
      if (!call.writableEnded && !call.destroyed) call.write({ channel, frame });
    };
    const sendLate = (logs: agentV1.LateLogs) => sendOn(0)({ $case: "lateLogs", value: logs });
    const endIfIdle = () => {
      if (callerDone && channels.size === 0 && !call.writableEnded) call.end();
    };

    const open = (channel: number, head: agentV1.RequestHead) => {
      const send = metrics ? metrics.observe(sendOn(channel)) : sendOn(channel);
      if (channels.has(channel)) {
        channels.get(channel)?.cancel(new IsleError("bad_request", "channel reused while open"));
        return;
      }
      const refuse = (error: IsleError) =>
        send({ $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 0, cpuMs: 0, errorCode: error.code, errorMessage: error.message }) });
      if (state.draining) return refuse(new IsleError("unavailable", "the agent is draining"));
      const maxConcurrency = head.limits?.maxConcurrency ?? 0;
      const releaseSlot = state.concurrency.tryAcquire(concurrencyKey(head), maxConcurrency);
      if (!releaseSlot) {
        return refuse(new IsleError("concurrency_limit", `the function already runs ${maxConcurrency} invocations at once on this node; retry shortly`));
      }
      const entry = new ServerChannel(head, send, logger, state.quarantine, tracing, sendLate, wholeAnswers);
      channels.set(channel, entry);
      state.inFlight.count++;
      // A head whose function or env reference is malformed is refused by
      // the channel and loads nothing: it is counted in the total only.
      const fn = head.function;
      const isolate = fn && isolateOf(fn, head.envRef);
      const endLoaded = fn && isolate ? state.loaded.begin(fn, isolate) : undefined;
      // run() settles only once the invocation is over (answered, failed or
      // cancelled, trailer sent): that is when its slot is free again.
      void entry.run(runtime).finally(() => {
        releaseSlot();
        endLoaded?.();
        state.inFlight.count--;
        channels.delete(channel);
        endIfIdle();
      });
    };

    call.on("data", ({ channel, frame }: agentV1.InvokeFrame) => {
      switch (frame?.$case) {
        case "requestHead":
          return open(channel, frame.value);
        case "body":
          return channels.get(channel)?.addBody(frame.value);
        case "endOfBody":
          return channels.get(channel)?.endBody();
        case "windowUpdate":
          return channels.get(channel)?.grant(frame.value.bytes);
        case "cancel":
          return channels.get(channel)?.callerCancelled();
        default:
          return;
      }
    });
    const cancelAll = () => {
      for (const entry of channels.values()) entry.cancel(new IsleError("upstream_failed", "the invoke stream closed"));
    };
    call.on("end", () => {
      callerDone = true;
      endIfIdle();
    });
    call.on("cancelled", cancelAll);
    call.on("error", cancelAll);
  };
}
