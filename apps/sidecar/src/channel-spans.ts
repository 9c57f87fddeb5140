import { Transform } from "node:stream";
import { errorStatus, isErrorCode } from "@isle/errors";
import { agentV1 } from "@isle/proto";
import { SpanKind, SpanStatusCode, contextFrom, faasAttributes, recordFailure, traceHeadersOf, type Span, type Tracer } from "@isle/telemetry";
import { frameCase, scanFrame } from "./frame-scan.js";

/**
 * The sidecar's span of each invocation channel on one Invoke stream. The
 * gateway's span (the request head's trace context) is its parent; the head
 * is re-encoded with this span's context so the agent's span is its child.
 * Only request heads, response heads and trailers are decoded; body frames
 * pass as the bytes they came as.
 */
export class ChannelSpans {
  private readonly open = new Map<number, Span>();

  constructor(private readonly tracer: Tracer) {}

  /** The caller → agent direction: heads rewritten, every other frame untouched. */
  requests(): Transform {
    return new Transform({
      objectMode: true,
      transform: (frame: Buffer, _encoding, done) => {
        let out = frame;
        // A frame that does not decode goes on as it came: refusing it is the agent's call, not the tracer's.
        try {
          out = this.onRequest(frame);
        } catch {
          out = frame;
        }
        done(null, out);
      },
    });
  }

  /** Rewrites a request head frame under a new span; returns any other frame as it is. */
  onRequest(frame: Buffer): Buffer {
    const kind = scanFrame(frame);
    if (kind?.kind === frameCase.cancel) this.open.get(kind.channel)?.addEvent("cancelled by the caller");
    if (kind?.kind !== frameCase.requestHead) return frame;
    const decoded = agentV1.InvokeFrame.decode(frame);
    if (decoded.frame?.$case !== "requestHead") return frame;
    const head = decoded.frame.value;
    const fn = head.function;
    const span = this.tracer.startSpan(
      "sidecar invoke",
      {
        kind: SpanKind.SERVER,
        attributes: faasAttributes({
          trigger: head.trigger,
          invocationId: head.invocationId,
          functionName: fn?.functionName ?? "",
          deploymentId: fn?.deploymentId ?? "",
          tenantName: fn?.tenantName ?? "",
        }),
      },
      contextFrom(head.trace),
    );
    this.open.get(decoded.channel)?.end();
    this.open.set(decoded.channel, span);
    head.trace = traceHeadersOf(span, head.trace?.tracestate ?? "");
    return Buffer.from(agentV1.InvokeFrame.encode(decoded).finish());
  }

  /**
   * The agent → caller direction, only read: the response head's facts, and
   * the trailer (alone, or inside a head that is the whole answer) ends the span.
   */
  onResponse(frame: Buffer): void {
    const kind = scanFrame(frame);
    if (!kind) return;
    if (kind.kind === frameCase.responseHead) {
      const head = agentV1.ResponseHead.decode(frame.subarray(kind.start, kind.end));
      this.open.get(kind.channel)?.setAttributes({ "http.response.status_code": head.status, "faas.coldstart": head.coldStart });
      if (head.trailer) this.end(kind.channel, head.trailer);
    } else if (kind.kind === frameCase.trailer) {
      if (!this.open.has(kind.channel)) return;
      this.end(kind.channel, agentV1.Trailer.decode(frame.subarray(kind.start, kind.end)));
    }
  }

  private end(channel: number, trailer: agentV1.Trailer): void {
    const span = this.open.get(channel);
    if (!span) return;
    this.open.delete(channel);
    if (trailer.errorCode) {
      const code = trailer.errorCode;
      recordFailure(span, code, isErrorCode(code) ? errorStatus[code] : 500);
    }
    span.end();
  }

  /** The stream ended or failed: channels still open will get no trailer. */
  endAll(reason: string): void {
    for (const span of this.open.values()) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      span.end();
    }
    this.open.clear();
  }
}
