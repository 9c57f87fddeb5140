import type { IsleError } from "@isle/errors";
import type { agentV1 } from "@isle/proto";
import {
  SpanKind,
  context,
  contextFrom,
  faasAttributes,
  recordFailure,
  trace,
  traceHeadersOf,
  type Attributes,
  type Span,
  type TraceHeaders,
  type Tracer,
} from "@isle/telemetry";

/**
 * The agent's two spans of one invocation: the invocation itself (a child
 * of the sidecar's span, from the request head) and, inside it, the call
 * into the runtime's isolate. The isolate span's context is what the
 * function sees as its `traceparent` and what its outbound requests carry.
 */
export class InvocationSpans {
  private readonly invocation: Span;
  /** Started when the runtime request is built, so it covers the runtime's call only; never for a refused invocation. */
  private isolate: Span | undefined;
  private readonly attributes: Attributes;
  private ended = false;

  constructor(
    private readonly tracer: Tracer,
    head: agentV1.RequestHead,
    private readonly runtimeName: string,
  ) {
    const fn = head.function;
    this.attributes = faasAttributes({
      trigger: head.trigger,
      invocationId: head.invocationId,
      functionName: fn?.functionName ?? "",
      deploymentId: fn?.deploymentId ?? "",
      tenantName: fn?.tenantName ?? "",
    });
    this.invocation = tracer.startSpan("agent invoke", { kind: SpanKind.SERVER, attributes: this.attributes }, contextFrom(head.trace));
  }

  /** Starts the isolate call's span; its context is what the function receives. */
  functionTrace(tracestate: string): TraceHeaders {
    this.isolate ??= this.tracer.startSpan(
      `${this.runtimeName} isolate call`,
      { kind: SpanKind.CLIENT, attributes: { ...this.attributes, "isle.runtime": this.runtimeName } },
      trace.setSpan(context.active(), this.invocation),
    );
    return traceHeadersOf(this.isolate, tracestate);
  }

  /** Runs `fn` with the invocation span active, so log lines made within carry its ids. */
  runInvocation<T>(fn: () => T): T {
    return context.with(trace.setSpan(context.active(), this.invocation), fn);
  }

  /** Runs `fn` with the isolate call's span active. */
  runIsolateCall<T>(fn: () => T): T {
    return this.isolate ? context.with(trace.setSpan(context.active(), this.isolate), fn) : fn();
  }

  /** The runtime answered: its status, and whether the isolate was started for this call. */
  answered(status: number, coldStart: boolean): void {
    for (const span of this.spans()) {
      span.setAttributes({ "http.response.status_code": status, "faas.coldstart": coldStart });
    }
  }

  private spans(): Span[] {
    return this.isolate ? [this.invocation, this.isolate] : [this.invocation];
  }

  /** Ends the spans; an error marks them failed (a caller's 4xx only by `error.type`). */
  end(error: IsleError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    for (const span of this.spans().reverse()) {
      if (error) recordFailure(span, error.code, error.status);
      span.end();
    }
  }
}

/** `headers` with the function's trace context in place of the caller's. */
export function withTraceHeaders(headers: Array<[string, string]>, traceHeaders: TraceHeaders): Array<[string, string]> {
  const out = headers.filter(([name]) => {
    const lower = name.toLowerCase();
    return lower !== "traceparent" && lower !== "tracestate";
  });
  out.push(["traceparent", traceHeaders.traceparent]);
  if (traceHeaders.tracestate) out.push(["tracestate", traceHeaders.tracestate]);
  return out;
}
