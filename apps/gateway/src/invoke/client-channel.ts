import { IsleError, isErrorCode } from "@isle/errors";
import { ReceiveWindow, SendWindow, hopByHopHeaders, withinWindow, type agentV1 } from "@isle/proto";
import { faultOf, nodeFault, undelivered, type Fault } from "./node-fault.js";

type Frame = agentV1.InvokeFrame["frame"];

/** Response statuses that may not carry a body (Fetch standard). */
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

export interface FramedResponse {
  response: Response;
  /** True when the runtime had to load the isolate for this request. */
  coldStart: boolean;
}

/** How an invocation ended, once it has: the error code if it failed at any point, and whose fault that was. */
export interface ChannelOutcome {
  errorCode: string | undefined;
  fault: Fault | undefined;
}

/**
 * One invocation on a multiplexed Invoke stream, gateway side. It sends the
 * request body within the agent's window and turns the answer's frames into
 * a fetch Response whose body streams, granting the agent more window as the
 * client reads — or into one buffer, when the agent sends a small answer
 * whole (a response head carrying body and trailer) or its frames arrive in
 * one I/O turn. `response` resolves at the response head, or rejects with an
 * IsleError when the invocation fails before it; a failure after the head
 * errors the body stream, which the HTTP server turns into an aborted
 * response (a truncated body, never a false success).
 */
export class ClientChannel {
  readonly response: Promise<FramedResponse>;
  /** Settles once the invocation is over, however it ended. */
  readonly closed: Promise<ChannelOutcome>;
  private resolveClosed!: (outcome: ChannelOutcome) => void;
  private resolveHead!: (value: FramedResponse) => void;
  private rejectHead!: (err: IsleError) => void;
  private headSeen = false;
  /** True once `response` has resolved. */
  private responded = false;
  private done = false;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** Set between the response head and the end of the I/O turn it arrived in. */
  private pendingHead: { head: agentV1.ResponseHead; chunks: Buffer[] } | undefined;
  private enqueuedBytes = 0;
  private readonly sendWindow: SendWindow;
  private readonly receiveWindow: ReceiveWindow;

  constructor(
    private readonly head: agentV1.RequestHead,
    private readonly send: (frame: Frame) => void,
    private readonly onClose: () => void,
    /** Told the function's output when the trailer brings it, before the invocation settles. */
    private readonly onLogs?: (lines: agentV1.LogLine[]) => void,
  ) {
    this.response = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    // A rejection nobody awaits yet (the caller awaits after start) must not crash the process.
    this.response.catch(() => undefined);
    this.sendWindow = new SendWindow(head.initialWindow);
    this.receiveWindow = new ReceiveWindow(head.initialWindow, (bytes) => this.send({ $case: "windowUpdate", value: { bytes } }));
  }

  /** Sends the head, then the body as the window allows, then EndOfBody. */
  async start(body: AsyncIterable<Uint8Array> | null): Promise<void> {
    this.send({ $case: "requestHead", value: this.head });
    if (!this.head.hasBody) return;
    try {
      if (body) {
        for await (const chunk of body) {
          const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          for await (const piece of withinWindow(buffer, this.sendWindow)) {
            if (this.done) return;
            this.send({ $case: "body", value: piece });
          }
        }
      }
      if (!this.done) this.send({ $case: "endOfBody", value: {} });
    } catch {
      // The client's upload broke off, or the channel failed meanwhile.
      this.cancel(new IsleError("upstream_failed", "the request body could not be read"));
    }
  }

  /** A frame for this channel arrived from the agent. */
  receive(frame: Frame): void {
    switch (frame?.$case) {
      case "responseHead":
        return frame.value.trailer ? this.onWholeAnswer(frame.value, frame.value.trailer) : this.onHead(frame.value);
      case "body":
        if (this.done) return;
        if (this.pendingHead) {
          this.pendingHead.chunks.push(frame.value);
          return;
        }
        if (!this.controller) return;
        this.enqueuedBytes += frame.value.length;
        this.controller.enqueue(frame.value);
        return;
      case "windowUpdate":
        return this.sendWindow.grant(frame.value.bytes);
      case "trailer":
        return this.onTrailer(frame.value);
      default:
        return;
    }
  }

  private onTrailer({ errorCode, errorMessage, logs }: agentV1.Trailer): void {
    if (!this.done && logs.length > 0) this.onLogs?.(logs);
    if (errorCode) {
      const error = new IsleError(isErrorCode(errorCode) ? errorCode : "upstream_failed", errorMessage || "the function failed");
      // The agent answers `unavailable` only for a request it did not hand to the function.
      this.fail(errorCode === "unavailable" && !this.headSeen ? undelivered(error) : error, true);
    } else if (!this.headSeen) {
      this.fail(nodeFault(new IsleError("upstream_failed", "the node ended the invocation without a response")));
    } else if (this.pendingHead) {
      this.respondWhole(this.pendingHead.head, this.pendingHead.chunks);
    } else {
      this.finish();
      this.controller?.close();
    }
  }

  /** A response head that is the whole answer: as head, body and trailer arriving together. */
  private onWholeAnswer(head: agentV1.ResponseHead, trailer: agentV1.Trailer): void {
    if (this.headSeen || this.done) return;
    this.headSeen = true;
    this.pendingHead = { head, chunks: [head.body] };
    this.onTrailer(trailer);
  }

  /** Gives up: tells the agent, fails the caller. */
  cancel(reason: IsleError): void {
    if (this.done) return;
    this.send({ $case: "cancel", value: { reason: reason.code } });
    this.fail(reason);
  }

  /** Ends the invocation with an error, before or after its head; `fromAgent` when the agent's trailer named it. */
  fail(error: IsleError, fromAgent = false): void {
    if (this.done) return;
    this.finish(error, fromAgent);
    this.sendWindow.fail(error);
    this.pendingHead = undefined;
    if (!this.responded) {
      this.rejectHead(error);
      return;
    }
    try {
      this.controller?.error(error);
    } catch {
      // the stream is already closed or errored
    }
  }

  private finish(error?: IsleError, fromAgent = false): void {
    this.done = true;
    this.onClose();
    this.resolveClosed({ errorCode: error?.code, fault: faultOf(error, fromAgent) });
  }

  /**
   * Holds the head until the end of this I/O turn: a small answer's head,
   * body and trailer usually arrive in one read, and then it goes out as one
   * buffer, without a web stream (a third cheaper per request).
   */
  private onHead(value: agentV1.ResponseHead): void {
    if (this.headSeen || this.done) return;
    this.headSeen = true;
    this.pendingHead = { head: value, chunks: [] };
    setImmediate(() => {
      const pending = this.pendingHead;
      this.pendingHead = undefined;
      if (pending && !this.done) this.respondStreaming(pending.head, pending.chunks);
    });
  }

  private respondWhole(head: agentV1.ResponseHead, chunks: Buffer[]): void {
    this.pendingHead = undefined;
    this.finish();
    const noBody = nullBodyStatuses.has(head.status) || this.head.method === "HEAD";
    const body = noBody ? null : Buffer.concat(chunks);
    this.responded = true;
    this.resolveHead({ response: new Response(body, { status: head.status, headers: responseHeaders(head) }), coldStart: head.coldStart });
  }

  private respondStreaming(value: agentV1.ResponseHead, early: Buffer[]): void {
    const noBody = nullBodyStatuses.has(value.status) || this.head.method === "HEAD";
    const window = this.head.initialWindow;
    const body = noBody
      ? null
      : new ReadableStream<Uint8Array>(
          {
            start: (c) => {
              this.controller = c;
              for (const chunk of early) {
                this.enqueuedBytes += chunk.length;
                c.enqueue(chunk);
              }
            },
            // Called as the client takes bytes: what it took is all enqueued minus what is queued.
            pull: (c) => this.receiveWindow.consumedUpTo(this.enqueuedBytes - (window - (c.desiredSize ?? 0))),
            cancel: () => this.cancel(new IsleError("upstream_failed", "the client went away")),
          },
          { highWaterMark: window, size: (chunk) => chunk.byteLength },
        );
    this.responded = true;
    this.resolveHead({ response: new Response(body, { status: value.status, headers: responseHeaders(value) }), coldStart: value.coldStart });
  }
}

function responseHeaders(head: agentV1.ResponseHead): Headers {
  const headers = new Headers();
  for (const { name, value } of head.headers) if (!hopByHopHeaders.has(name.toLowerCase())) headers.append(name, value);
  return headers;
}
