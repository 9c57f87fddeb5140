import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as OtlpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

/**
 * What a part of Isle traces with. When tracing is off, `enabled` is false
 * and callers skip span work altogether: the hot path then pays one boolean
 * test per invocation.
 */
export interface Tracing {
  readonly enabled: boolean;
  /** The service name spans are exported under (`OTEL_SERVICE_NAME` or the part's default). */
  readonly serviceName: string;
  readonly tracer: Tracer;
  /** Why the settings were adjusted (an unsupported protocol), for the caller to log once. */
  readonly notes: readonly string[];
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Tracing that records nothing. */
export const tracingOff: Tracing = {
  enabled: false,
  serviceName: "",
  tracer: trace.getTracer("isle-off"),
  notes: [],
  shutdown: async () => {},
};

/** The `OTEL_*` variables Isle decides on itself; the SDK reads the rest (batching, sampler, headers). */
export interface TracingEnv {
  OTEL_SDK_DISABLED?: string | undefined;
  OTEL_TRACES_EXPORTER?: string | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_PROTOCOL?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
}

type ExporterChoice = { kind: "none" } | { kind: "console" } | { kind: "otlp"; protocol: "http/json" | "http/protobuf"; notes: string[] };

/**
 * Which exporter the standard variables ask for. Tracing is on only when
 * asked for: an OTLP endpoint set, or `OTEL_TRACES_EXPORTER` naming one.
 * `grpc` is not bundled; it falls back to `http/protobuf` with a note.
 */
export function chooseExporter(env: TracingEnv): ExporterChoice {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return { kind: "none" };
  const named = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (named.includes("none")) return { kind: "none" };
  if (named.includes("console")) return { kind: "console" };
  if (!named.includes("otlp") && !endpoint) return { kind: "none" };
  const asked = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf").trim();
  if (asked === "http/json" || asked === "http/protobuf") return { kind: "otlp", protocol: asked, notes: [] };
  return { kind: "otlp", protocol: "http/protobuf", notes: [`OTLP protocol "${asked}" is not supported; exporting over http/protobuf`] };
}

/**
 * Starts tracing for one part of Isle (`isle-gateway`, `isle-sidecar`,
 * `isle-agent`) from the standard `OTEL_*` variables, or returns
 * {@link tracingOff} when none asks for it. It installs the W3C trace-context
 * propagator and an AsyncLocalStorage context manager globally, as the
 * OpenTelemetry API expects, so that log lines can name the active span.
 */
export function startTracing(defaultServiceName: string, env: TracingEnv): Tracing {
  const choice = chooseExporter(env);
  if (choice.kind === "none") return tracingOff;
  const exporter: SpanExporter =
    choice.kind === "console" ? new ConsoleSpanExporter() : choice.protocol === "http/json" ? new OtlpJsonExporter() : new OtlpProtoExporter();
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || defaultServiceName;
  // OTEL_RESOURCE_ATTRIBUTES adds to the resource; the service name above wins.
  const resource = detectResources({ detectors: [envDetector] }).merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    enabled: true,
    serviceName,
    tracer: provider.getTracer("isle"),
    notes: choice.kind === "otlp" ? choice.notes : [],
    shutdown: () => provider.shutdown(),
  };
}

/**
 * Records how an invocation failed: `error.type` always, and ERROR status
 * unless the failure is the caller's (a 4xx: unknown function, over a
 * limit), which per the HTTP conventions is not a server error.
 */
export function recordFailure(span: Span, errorCode: string, httpStatus: number): void {
  span.setAttribute("error.type", errorCode);
  if (httpStatus < 400 || httpStatus >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
}

/** W3C trace context as it travels in a request head. */
export interface TraceHeaders {
  traceparent: string;
  tracestate: string;
}

const carrierGetter = {
  keys: (carrier: TraceHeaders) => Object.keys(carrier),
  get: (carrier: TraceHeaders, key: string) => (key === "traceparent" ? carrier.traceparent : key === "tracestate" ? carrier.tracestate : undefined) || undefined,
};
const propagator = new W3CTraceContextPropagator();

/** The context whose remote parent is `headers`' traceparent; the root context when it has none or a malformed one. */
export function contextFrom(headers: TraceHeaders | undefined): Context {
  if (!headers?.traceparent) return context.active();
  return propagator.extract(context.active(), headers, carrierGetter);
}

/**
 * The trace id (32 lowercase hex digits) of a W3C `traceparent`, parsed as the propagator parses
 * it; null when it is empty or malformed.
 */
export function traceIdOf(traceparent: string): string | null {
  if (!traceparent) return null;
  const extracted = propagator.extract(ROOT_CONTEXT, { traceparent, tracestate: "" }, carrierGetter);
  return trace.getSpanContext(extracted)?.traceId ?? null;
}

/** The trace context that makes `span` the parent of the next hop. */
export function traceHeadersOf(span: Span, tracestate = ""): TraceHeaders {
  const { traceId, spanId, traceFlags } = span.spanContext();
  const state = span.spanContext().traceState?.serialize() ?? tracestate;
  return { traceparent: `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, "0")}`, tracestate: state };
}

export { SpanKind, SpanStatusCode, context, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
