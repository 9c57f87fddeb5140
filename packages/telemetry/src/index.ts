export { createLogger, serializeError, traceIds, type Logger, type LoggerSettings } from "./logger.js";
export { faasAttributes, type InvocationFacts } from "./faas-attributes.js";
export { installContextManager, memoryTracing, type ReadableSpan } from "./memory-tracing.js";
export {
  chooseExporter,
  contextFrom,
  recordFailure,
  startTracing,
  traceHeadersOf,
  traceIdOf,
  tracingOff,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TraceHeaders,
  type Tracer,
  type Tracing,
  type TracingEnv,
} from "./tracing.js";
export { Counter, Gauge, Histogram, LabelCap, metricsContentType, otherLabel, Registry } from "./metrics.js";
