import { createHash, timingSafeEqual } from "node:crypto";
import type { Hono } from "hono";
import { metricsContentType } from "@isle/telemetry";
import { presentedCredential } from "../../auth/api-keys.js";
import type { GatewayEnv } from "../../env.js";
import type { GatewayMetrics } from "../../metrics/gateway-metrics.js";
import { unauthorized } from "../../middleware/api-auth.js";

export interface MetricsRouteOptions {
  metrics: GatewayMetrics;
  /** The operator token: always accepted. */
  adminToken: string;
  /** ISLE_METRICS_TOKEN: a credential that can read /metrics and nothing else. */
  metricsToken?: string | undefined;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * `GET /metrics`: the Prometheus scrape. It names tenants and functions, so it
 * is not public: it needs the operator token or the metrics-only token as a
 * Bearer credential (docs/adr/0013-metrics.md). Tenant API keys are refused
 * like any wrong credential, with the same 401.
 */
export function registerMetrics(app: Hono<GatewayEnv>, { metrics, adminToken, metricsToken }: MetricsRouteOptions): void {
  const accepted = [adminToken, ...(metricsToken ? [metricsToken] : [])].map(digest);
  const allowed = (credential: string) => {
    const presented = digest(credential);
    // Every candidate is compared, so the time taken says nothing about which matched.
    return accepted.reduce((ok, candidate) => timingSafeEqual(presented, candidate) || ok, false);
  };

  app.get("/metrics", async function metricsRoute(c) {
    const credential = presentedCredential(c.req.header("authorization"), undefined);
    if (!credential || !allowed(credential)) throw unauthorized();
    return c.body(await metrics.scrape(), 200, { "content-type": metricsContentType, "cache-control": "no-store" });
  });
}
