import type { MiddlewareHandler } from "hono";
import type { Logger } from "@isle/telemetry";
import type { GatewayEnv } from "../env.js";

/**
 * One line per management request: who (operator or key id, never the credential), which
 * tenant, which route pattern (so secret names and ids in the URL are kept, no query string),
 * the status and the time taken. Invoke routes are not logged here: their records are the
 * invocations table.
 */
export function accessLog(logger: Logger): MiddlewareHandler<GatewayEnv> {
  return async function accessLogMiddleware(c, next) {
    const started = performance.now();
    await next();
    const principal = c.get("principal");
    logger.info(
      {
        requestId: c.get("requestId"),
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        tenantId: c.get("tenant")?.id,
        caller: principal ? (principal.kind === "operator" ? "operator" : principal.key.id) : undefined,
        ms: Math.round(performance.now() - started),
      },
      "api request",
    );
  };
}
