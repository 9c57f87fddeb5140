import { trace } from "@opentelemetry/api";
import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/** Header and field names whose values never reach a log line. */
const redactPaths = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "headers.x-api-key",
  "*.headers.x-api-key",
  "token",
  "*.token",
  "key",
  "*.key",
  "secret",
  "*.secret",
  "password",
  "*.password",
];

/**
 * Serialises errors without what a failed query carried: drizzle puts the
 * statement's parameters (key hashes, artifact bytes, user data) in its error
 * messages, and those must never reach a log line.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const strip = (text: string) => text.replace(/\bparams:[\s\S]*$/, "params: [redacted]");
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return {
    type: err.name,
    message: strip(err.message),
    stack: err.stack ? strip(err.stack) : undefined,
    code: (err as { code?: unknown }).code ?? cause?.code,
  };
}

export interface LoggerSettings {
  /** The part of Isle that logs: gateway, sidecar, agent. */
  service: string;
  level?: string;
  /** Where lines go; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * The ids of the span active where a line is logged, so that logs and traces
 * join. Without tracing there is no active span and this adds nothing.
 */
export function traceIds(): { trace_id: string; span_id: string } | Record<string, never> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * A structured JSON logger. Every line names the service, and the trace and
 * span ids of the active span when there is one; callers add request and
 * tenant ids with `logger.child({...})`. Known credential fields are redacted.
 */
export function createLogger({ service, level = "info", destination }: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    redact: { paths: redactPaths, censor: "[redacted]" },
    serializers: { err: serializeError },
    mixin: traceIds,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
