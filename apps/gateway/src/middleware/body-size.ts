import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { IsleError } from "@isle/errors";

/**
 * Refuses bodies over `maxBytes` with `payload_too_large` before anything reads them
 * (counted while streaming, so a lying or absent Content-Length does not help).
 */
export function maxBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new IsleError("payload_too_large", `the body is over ${maxBytes} bytes`);
    },
  });
}

/** The cap on JSON bodies and secret values: settings, not uploads. */
export const smallBody = maxBody(64 * 1024);
