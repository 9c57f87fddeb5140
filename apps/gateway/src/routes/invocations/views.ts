import { z } from "@hono/zod-openapi";
import type { InvocationCursor, InvocationSummary } from "@isle/db";
import { IsleError } from "@isle/errors";

export const invocationSchema = z
  .object({
    id: z.string(),
    functionId: z.string(),
    deploymentId: z.string().nullable(),
    agentId: z.string().nullable(),
    mode: z.string(),
    trigger: z.string(),
    status: z.string(),
    httpStatus: z.number().int().nullable(),
    attempt: z.number().int(),
    coldStart: z.boolean(),
    errorCode: z.string().nullable(),
    startedAt: z.string(),
    durationMs: z.number().int().nullable(),
    traceId: z
      .string()
      .nullable()
      .openapi({ description: "W3C trace id (32 hex digits) of the traceparent the invocation ran under; null when it had none", example: "4bf92f3577b34da6a3ce929d0e0e4736" }),
  })
  .openapi("Invocation");

export const logLineSchema = z.object({ at: z.string(), level: z.string(), message: z.string() });

/** How an async invocation's callback went; the URL only by its origin (its path and query may hold a token). */
export const callbackSchema = z
  .object({
    origin: z.string().openapi({ description: "The callback URL's scheme, host and port" }),
    attempt: z.number().int().openapi({ description: "The attempt whose result the callback carried" }),
    delivered: z.boolean().openapi({ description: "The receiver answered 2xx" }),
    status: z.number().int().optional().openapi({ description: "The receiver's status on the last try; absent when it did not answer" }),
    tries: z.number().int(),
    error: z.string().optional(),
    at: z.string().openapi({ description: "When the last try ended" }),
  })
  .openapi("InvocationCallback");

/** An invocation record as listed (without its logs, which can be long). */
export function invocationView(r: InvocationSummary) {
  return {
    id: r.id,
    functionId: r.functionId,
    deploymentId: r.deploymentId,
    agentId: r.agentId,
    mode: r.mode,
    trigger: r.trigger,
    status: r.status,
    httpStatus: r.httpStatus,
    attempt: r.attempt,
    coldStart: r.coldStart,
    errorCode: r.errorCode,
    startedAt: r.startedAt.toISOString(),
    durationMs: r.durationMs,
    traceId: r.traceId,
  };
}

/** Cursors are opaque to clients: base64url of the last row's start time and id. */
export function encodeCursor(cursor: InvocationCursor): string {
  return Buffer.from(JSON.stringify([cursor.startedAt.toISOString(), cursor.id])).toString("base64url");
}

export function decodeCursor(text: string): InvocationCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
    const startedAt = new Date(String(at));
    if (typeof id === "string" && !Number.isNaN(startedAt.getTime())) return { startedAt, id };
  } catch {
    // fall through to the one answer below
  }
  throw new IsleError("validation_failed", "cursor: not a cursor this API returned");
}
