import type { IncomingMessage } from "node:http";
import type { Context as HonoContext } from "hono";
import { IsleError } from "@isle/errors";
import {
  SpanKind,
  SpanStatusCode,
  context,
  contextFrom,
  faasAttributes,
  recordFailure,
  trace,
  traceHeadersOf,
  type InvocationFacts,
  type Span,
  type TraceHeaders,
  type Tracing,
} from "@isle/telemetry";
import type { GatewayEnv } from "../../env.js";

/**
 * The gateway's server span of one invoke: a child of the client's
 * `traceparent` when it sent one, the parent of the sidecar's span through
 * the request head's trace context.
 */
export class InvokeSpan {
  private ended = false;

  private constructor(
    private readonly span: Span,
    private readonly clientTracestate: string,
  ) {}

  /** Starts the span when tracing is on; undefined (and no work) when it is off. */
  static start(tracing: Tracing, c: HonoContext<GatewayEnv>, route: string): InvokeSpan | undefined {
    if (!tracing.enabled) return undefined;
    const client = clientTraceHeaders(c);
    const method = c.req.method;
    const span = tracing.tracer.startSpan(
      `${method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "http.route": route } },
      contextFrom(client),
    );
    return new InvokeSpan(span, client.tracestate);
  }

  /** Runs `fn` with this span active, so log lines made within carry its ids. */
  run<T>(fn: () => T): T {
    return context.with(trace.setSpan(context.active(), this.span), fn);
  }

  /** What the function is, once resolved. */
  describe(facts: InvocationFacts): void {
    this.span.setAttributes(faasAttributes(facts));
  }

  /** The trace context for the request head: this span is the next hop's parent. */
  traceHeaders(): TraceHeaders {
    return traceHeadersOf(this.span, this.clientTracestate);
  }

  /** Ends the span with the answer the client got. */
  end(httpStatus: number, errorCode: string | undefined, coldStart?: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.span.setAttribute("http.response.status_code", httpStatus);
    if (coldStart !== undefined) this.span.setAttribute("faas.coldstart", coldStart);
    if (errorCode) {
      recordFailure(this.span, errorCode, httpStatus);
    } else if (httpStatus >= 500) {
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.span.end();
  }

  /** Ends the span for an invoke that failed before an answer. */
  fail(err: unknown): void {
    if (err instanceof IsleError) this.end(err.status, err.code);
    else this.end(500, "internal");
  }
}

/** The client's W3C trace context, from Node's parsed headers when served by @hono/node-server. */
function clientTraceHeaders(c: HonoContext<GatewayEnv>): TraceHeaders {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const read = (name: string): string => {
    const value = incoming ? incoming.headers[name] : c.req.header(name);
    return (Array.isArray(value) ? value[0] : value) ?? "";
  };
  return { traceparent: read("traceparent"), tracestate: read("tracestate") };
}
