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
 * A structured JSON logger. Every line names the service; callers add
 * request, tenant and trace ids with `logger.child({...})`. Known credential
 * fields are redacted.
 */
export function createLogger({ service, level = "info", destination }: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    redact: { paths: redactPaths, censor: "[redacted]" },
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
