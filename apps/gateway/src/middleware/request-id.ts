import type { MiddlewareHandler } from "hono";
import { newRequestId } from "../ids.js";
import type { GatewayEnv } from "../env.js";

/** Gives every request an id for logs and error bodies. */
export function requestId(): MiddlewareHandler<GatewayEnv> {
  return async function requestIdMiddleware(c, next) {
    c.set("requestId", newRequestId());
    await next();
  };
}
