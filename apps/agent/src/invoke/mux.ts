import type * as grpc from "@grpc/grpc-js";
import { IsleError } from "@isle/errors";
import type { agentV1 } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import type { FunctionRuntime } from "../runtimes/runtime.js";
import type { Quarantine } from "../quarantine.js";
import { ServerChannel } from "./server-channel.js";

type Call = grpc.ServerDuplexStream<agentV1.InvokeFrame, agentV1.InvokeFrame>;

/** What the agent counts and checks across all streams. */
export interface InvokeState {
  inFlight: { count: number };
  draining: boolean;
  /** Deployments refused here after stalling workerd repeatedly. */
  quarantine: Quarantine;
}

/**
 * Serves Agent.Invoke: one long-lived stream carrying many invocations, each
 * on its own channel. Frames are routed to their channel; a channel that
 * ends sends its trailer; the stream's end or failure cancels what still runs.
 */
export function createInvokeHandler(runtime: FunctionRuntime, state: InvokeState, logger: Logger) {
  return function invoke(call: Call): void {
    const channels = new Map<number, ServerChannel>();
    let callerDone = false;

    const sendOn = (channel: number) => (frame: agentV1.InvokeFrame["frame"]) => {
      if (!call.writableEnded && !call.destroyed) call.write({ channel, frame });
    };
    const endIfIdle = () => {
      if (callerDone && channels.size === 0 && !call.writableEnded) call.end();
    };

    const open = (channel: number, head: agentV1.RequestHead) => {
      const send = sendOn(channel);
      if (channels.has(channel)) {
        channels.get(channel)?.cancel(new IsleError("bad_request", "channel reused while open"));
        return;
      }
      if (state.draining) {
        const error = new IsleError("unavailable", "the agent is draining");
        send({ $case: "trailer", value: { wallMs: 0, cpuMs: 0, errorCode: error.code, errorMessage: error.message } });
        return;
      }
      const entry = new ServerChannel(head, send, logger, state.quarantine);
      channels.set(channel, entry);
      state.inFlight.count++;
      void entry.run(runtime).finally(() => {
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
          return channels.get(channel)?.cancel(new IsleError("upstream_failed", "the caller cancelled"));
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
