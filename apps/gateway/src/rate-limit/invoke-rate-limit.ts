import type { Context } from "hono";
import { IsleError } from "@isle/errors";
import type { TenantQuotas } from "@isle/db";
import type { RatePolicy } from "./gcra.js";
import { rateLimitHeaders, retryAfterSeconds } from "./headers.js";
import type { RateLimiter } from "./rate-limiter.js";

/** Rate and burst of one kind of bucket. */
export interface RateSetting {
  rate: number;
  burst: number;
}

/** The platform's buckets when a tenant sets none (ISLE_TENANT_RATE, …). */
export interface RateDefaults {
  tenant: RateSetting;
  key: RateSetting;
}

/**
 * The buckets an invoke must fit: its tenant's, and its API key's when it
 * came with one. Tenant settings override the platform defaults field by
 * field. Both keys carry the tenant id in braces, a Redis Cluster hash tag,
 * so one script can touch both.
 */
export function invokePolicies(
  tenantId: string,
  quotas: TenantQuotas,
  keyId: string | undefined,
  defaults: RateDefaults,
): RatePolicy[] {
  const policies: RatePolicy[] = [
    {
      name: "tenant",
      key: `t:{${tenantId}}`,
      rate: quotas.ratePerSecond ?? defaults.tenant.rate,
      burst: quotas.rateBurst ?? defaults.tenant.burst,
    },
  ];
  if (keyId) {
    policies.push({
      name: "key",
      key: `k:{${tenantId}}:${keyId}`,
      rate: quotas.keyRatePerSecond ?? defaults.key.rate,
      burst: quotas.keyRateBurst ?? defaults.key.burst,
    });
  }
  return policies;
}

/**
 * Checks the request against `policies`. Sets `RateLimit-Policy` and
 * `RateLimit` on the context, so every error answer built from it carries
 * them too, and returns them for the function's own response, which is built
 * elsewhere. Throws `rate_limited` with `Retry-After` when a bucket is empty.
 */
export async function enforceRateLimit(c: Context, limiter: RateLimiter, policies: RatePolicy[]): Promise<Record<string, string>> {
  const decision = await limiter.check(policies);
  const { policy, state } = rateLimitHeaders(decision);
  const headers: Record<string, string> = { "ratelimit-policy": policy, ratelimit: state };
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  if (!decision.allowed) {
    const retryAfter = retryAfterSeconds(decision);
    c.header("retry-after", String(retryAfter));
    const which = decision.buckets.filter((b) => b.remaining === 0).map((b) => b.policy.name);
    throw new IsleError("rate_limited", `rate limit of this ${which.join(" and ") || "tenant"} reached; retry in ${retryAfter} s`, {
      limits: which,
    });
  }
  return headers;
}
