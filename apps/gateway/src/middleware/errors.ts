import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { IsleError, errorBody, type ErrorCode } from "@isle/errors";
import type { Logger } from "@isle/telemetry";
import type { GatewayEnv } from "../env.js";

/** Refusals that a client should simply retry a moment later: they carry `Retry-After: 1`. */
const retryLaterCodes: ReadonlySet<ErrorCode> = new Set([
  "unavailable",
  "rate_limited",
  "concurrency_limit",
  "tenant_concurrency_limit",
]);

/**
 * The one place where failures become HTTP responses: an IsleError keeps its
 * code and status; anything else is a bug, logged with its stack and answered
 * as `internal` without details.
 */
export function errorHandler(logger: Logger) {
  return function onError(err: Error, c: Context<GatewayEnv>): Response {
    const requestId = c.get("requestId") ?? "unknown";
    let error: IsleError;
    if (err instanceof IsleError) {
      error = err;
    } else if (isHttpException(err)) {
      // Hono's own exceptions (body limit, malformed input) carry a status.
      error = new IsleError(err.status === 413 ? "payload_too_large" : "bad_request", err.message || "bad request");
    } else {
      logger.error({ err, requestId }, "unhandled error");
      error = new IsleError("internal", "internal error");
    }
    const response = c.json(errorBody(error, requestId), error.status as 400);
    // A refusal that knows better (a rate limit's wait) has set its own.
    if (retryLaterCodes.has(error.code) && !response.headers.has("retry-after")) response.headers.set("retry-after", "1");
    const invocationId = c.get("invocationId");
    if (invocationId) response.headers.set("x-isle-invocation-id", invocationId);
    return response;
  };
}

function isHttpException(err: Error): err is Error & { status: number } {
  // Hono's HTTPException does not set `name`, so the class is what identifies it.
  if (err instanceof HTTPException) return true;
  return err.name === "HTTPException" && typeof (err as { status?: unknown }).status === "number";
}

/** Unknown routes answer in the same error shape. */
export function notFoundHandler(c: Context<GatewayEnv>): Response {
  const error = new IsleError("not_found", "no such route");
  return c.json(errorBody(error, c.get("requestId") ?? "unknown"), 404);
}
