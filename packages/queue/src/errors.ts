import { IsleError } from "@isle/errors";
import type { QueueMessage } from "./types.js";

/**
 * The IsleError an enqueue rejects with when the backing store could not be reached or did not
 * confirm in time: the route answers 503, never 202. The original error is kept as `cause`
 * for the logs; the message says nothing about the infrastructure.
 */
export function queueUnavailable(cause: unknown): IsleError {
  const err = new IsleError("unavailable", "The invocation queue is unavailable; retry later");
  err.cause = cause;
  return err;
}

/** Ids become NATS subject tokens and URL path segments: letters, digits, "_" and "-", 1–128. */
const tokenPattern = /^[A-Za-z0-9_-]{1,128}$/;

/** True when `value` is usable as a message, tenant or function id. */
export function isToken(value: string): boolean {
  return tokenPattern.test(value);
}

/** Throws `validation_failed` unless `value` is usable as a message, tenant or function id. */
export function checkToken(what: string, value: string): void {
  if (!isToken(value)) {
    throw new IsleError("validation_failed", `The queue message's ${what} must be 1-128 of A-Z, a-z, 0-9, "_" and "-"`);
  }
}

/** Throws `validation_failed` unless the message's ids and idempotency key are usable. */
export function checkMessage(message: QueueMessage): void {
  checkToken("id", message.id);
  checkToken("tenantId", message.tenantId);
  checkToken("functionId", message.functionId);
  const key = message.idempotencyKey;
  // Printable ASCII: the key travels in a message header, where line breaks cannot.
  if (key !== undefined && !/^[\x20-\x7e]{1,255}$/.test(key)) {
    throw new IsleError("validation_failed", "An idempotency key must be 1-255 printable ASCII characters");
  }
}
