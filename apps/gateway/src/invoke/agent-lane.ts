import type * as grpc from "@grpc/grpc-js";
import { IsleError } from "@isle/errors";
import type { agentV1 } from "@isle/proto";
import { ClientChannel } from "./client-channel.js";
import { nodeFault, undelivered } from "./node-fault.js";

type Call = grpc.ClientDuplexStream<agentV1.InvokeFrame, agentV1.InvokeFrame>;

/** The gRPC status of a failed stream, as the Isle error its invocations get. */
export function statusToError(err: Partial<grpc.ServiceError>): IsleError {
  switch (err.code) {
    case 14: // UNAVAILABLE
      return new IsleError("unavailable", "the function's node is unavailable; retry shortly");
    case 4: // DEADLINE_EXCEEDED
      return new IsleError("timeout", "the function did not answer before its deadline");
    default:
      return new IsleError("upstream_failed", "the function's node failed while serving the request");
  }
}

/**
 * One long-lived Agent.Invoke stream to one sidecar, carrying many
 * invocations on numbered channels. Opened on first use and again after it
 * breaks; when it breaks, every invocation on it fails at once (none hangs).
 * Output that invocations wrote after their trailer comes on channel 0 and
 * goes to `onLateLogs`.
 */
export class AgentLane {
  private call: Call | undefined;
  private readonly channels = new Map<number, ClientChannel>();
  private nextChannel = 1;

  constructor(
    private readonly openCall: () => Call,
    private readonly onLateLogs?: (late: agentV1.LateLogs) => void,
  ) {}

  get openChannels(): number {
    return this.channels.size;
  }

  /** Starts an invocation; its `response` settles at the head or on failure; `onLogs` gets the output its trailer carries. */
  start(head: agentV1.RequestHead, body: AsyncIterable<Uint8Array> | null, onLogs?: (lines: agentV1.LogLine[]) => void): ClientChannel {
    const call = this.ensureCall();
    const id = this.nextChannel;
    this.nextChannel = this.nextChannel >= 0xffff_ffff ? 1 : this.nextChannel + 1;
    const channel = new ClientChannel(
      head,
      (frame) => {
        if (this.call === call && !call.writableEnded) call.write({ channel: id, frame });
      },
      () => this.channels.delete(id),
      onLogs,
    );
    this.channels.set(id, channel);
    void channel.start(body);
    return channel;
  }

  close(): void {
    this.fail(this.call, new IsleError("unavailable", "the gateway is shutting down"));
  }

  private ensureCall(): Call {
    if (this.call) return this.call;
    const call = this.openCall();
    this.call = call;
    let answered = false;
    call.on("metadata", () => (answered = true));
    call.on("data", ({ channel, frame }: agentV1.InvokeFrame) => {
      answered = true;
      if (frame?.$case === "lateLogs") this.onLateLogs?.(frame.value);
      else this.channels.get(channel)?.receive(frame);
    });
    call.on("error", (err: grpc.ServiceError) => {
      const error = nodeFault(statusToError(err));
      // A stream the node never answered on, failing as unreachable (refused, reset while
      // connecting, its agent gone): its invocations never got to a function.
      this.fail(call, answered || err.code !== 14 ? error : undelivered(error));
    });
    call.on("end", () => this.fail(call, nodeFault(new IsleError("upstream_failed", "the node closed the invoke stream"))));
    return call;
  }

  private fail(call: Call | undefined, error: IsleError): void {
    if (!call || this.call !== call) return;
    this.call = undefined;
    const open = [...this.channels.values()];
    this.channels.clear();
    for (const channel of open) channel.fail(error);
    call.cancel();
  }
}
