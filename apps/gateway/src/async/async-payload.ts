import { hopByHopHeaders } from "@isle/proto";

/**
 * What an async invocation stores in the queue: the request as the function will see it, minus
 * credentials. Names, not only ids, so the dispatcher can resolve the function's current
 * deployment the way a sync invoke does.
 */
export interface AsyncPayload {
  tenantName: string;
  functionName: string;
  method: string;
  /** The function's path, percent-encoded as sent, without the query. */
  path: string;
  /** The query string with its `?`, or "". */
  query: string;
  host: string;
  headers: Array<[string, string]>;
  clientIp: string | undefined;
  /** Base64 of the body; null for a request without one. */
  body: string | null;
  callbackUrl: string | undefined;
  /** The caller's trace context, so each attempt continues its trace. */
  trace: { traceparent: string; tracestate: string };
  /** Milliseconds since the epoch when the gateway accepted it. */
  acceptedAtMs: number;
  /** What started it: absent for the async route (`queue`), `timer` for a schedule's tick. */
  trigger?: "timer";
  /** The schedule and tick a timer invocation is for (`x-isle-schedule`, `x-isle-scheduled-at`). */
  schedule?: ScheduledTick;
}

/** Which schedule's tick an invocation is: the schedule's name and the tick's ISO-8601 time. */
export interface ScheduledTick {
  name: string;
  scheduledAt: string;
}

/**
 * Client headers never stored: hop-by-hop ones, credentials (the API key must not sit in a
 * queue or a dead letter), the platform's own `x-isle-*` (also dropped again when the head is
 * built) and the async route's own instructions.
 */
const unstored = new Set([
  ...hopByHopHeaders,
  "host",
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "idempotency-key",
  "x-callback-url",
]);

/** The headers of `incoming` worth storing, in order. */
export function storedHeaders(incoming: Iterable<[string, string]>): Array<[string, string]> {
  const kept: Array<[string, string]> = [];
  for (const [name, value] of incoming) if (!unstored.has(name) && !name.startsWith("x-isle-")) kept.push([name, value]);
  return kept;
}

/** Reads a stored payload back; throws on one this gateway did not write. */
export function parseAsyncPayload(value: unknown): AsyncPayload {
  const p = value as Partial<AsyncPayload> | null;
  if (!p || typeof p.tenantName !== "string" || typeof p.functionName !== "string" || !Array.isArray(p.headers)) {
    throw new Error("not an async invocation payload");
  }
  return p as AsyncPayload;
}
