import type { RateDecision } from "./gcra.js";

/**
 * The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers-10
 * (structured-field lists, one item per bucket, named by the policy):
 *
 *   RateLimit-Policy: "tenant";q=2000;w=2, "key";q=200;w=2
 *   RateLimit: "tenant";r=1999;t=1, "key";r=0;t=2
 *
 * A GCRA bucket is described as its burst `q` over the window `w` it takes to
 * refill from empty (burst ÷ rate, in whole seconds, at least 1); `r` is the
 * requests it would admit now and `t` the seconds until it is full again.
 */
export function rateLimitHeaders(decision: RateDecision): { policy: string; state: string } {
  const policy = decision.buckets
    .map(({ policy: p }) => `"${p.name}";q=${p.burst};w=${Math.max(1, Math.ceil(p.burst / p.rate))}`)
    .join(", ");
  const state = decision.buckets.map((b) => `"${b.policy.name}";r=${b.remaining};t=${Math.ceil(b.resetMs / 1000)}`).join(", ");
  return { policy, state };
}

/** Retry-After in whole seconds (delta-seconds), never 0 for a refusal. */
export function retryAfterSeconds(decision: RateDecision): number {
  return Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
}
