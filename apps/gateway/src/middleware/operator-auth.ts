import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { IsleError } from "@isle/errors";
import type { GatewayEnv } from "../env.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Lets through only requests bearing the operator token. Both sides are
 * hashed first so the comparison takes the same time whatever the input's
 * length or content.
 */
export function operatorAuth(adminToken: string): MiddlewareHandler<GatewayEnv> {
  const expected = digest(adminToken);
  return async function operatorAuthMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer (.+)$/.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      throw new IsleError("unauthorized", "a valid operator token is required");
    }
    await next();
  };
}
