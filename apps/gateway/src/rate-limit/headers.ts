import type { BucketState, RateDecision } from "./gcra.js";

/**
 * The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers-10,
 * one list member per bucket:
 *
 *   RateLimit-Policy: "tenant";q=2000;w=2, "key";q=200;w=2
 *   RateLimit: "tenant";r=1999;t=1, "key";r=0;t=1
 *
 * Both are Structured Field Lists (RFC 9651 §3.1, serialised per §4.1.1:
 * members joined by ", ") of Items whose value is the policy's name as a
 * String (draft §3: "The Item value MUST be a String"; §4.1 identifies the
 * same policy). Parameters, all Integers:
 * - `q` (§3.1.1), the quota: the bucket's burst, what an idle bucket admits;
 * - `w` (§3.1.3), the window in seconds, non-zero: the time an empty GCRA
 *   bucket takes to fill again, burst ÷ rate, rounded up — so q/w never
 *   promises more than the sustained rate;
 * - `r` (§4.1.1), the requests the bucket would admit now;
 * - `t` (§4.1.2), seconds until it makes more quota available: until it
 *   admits one request more, rounded up. A full bucket will make none
 *   available, so it has no `t` (the parameter is optional).
 * `qu` (§3.1.2) is left at its default, "requests". `pk` (§3.1.4) is left
 * out: which tenant and key a bucket belongs to follows from the request, and
 * their ids are nothing a client needs to read back.
 */
export function rateLimitHeaders(decision: RateDecision): { policy: string; state: string } {
  const policy = decision.buckets
    .map(({ policy: p }) => `${sfString(p.name)};q=${p.burst};w=${Math.max(1, Math.ceil(p.burst / p.rate))}`)
    .join(", ");
  const state = decision.buckets.map((b) => `${sfString(b.policy.name)};r=${b.remaining}${resetParameter(b)}`).join(", ");
  return { policy, state };
}

/**
 * Retry-After as delay-seconds (RFC 9110 §10.2.3): whole seconds, at least 1
 * for a refusal. It is the longest wait of the buckets that refused, each of
 * which shows that same wait rounded up as its `t`, so it never points
 * earlier than their `t` (draft §6).
 */
export function retryAfterSeconds(decision: RateDecision): number {
  return Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
}

function resetParameter(bucket: BucketState): string {
  return bucket.nextMs === undefined ? "" : `;t=${Math.max(1, Math.ceil(bucket.nextMs / 1000))}`;
}

/** An sf-string (RFC 9651 §4.1.6): printable ASCII only, `"` and `\` escaped. */
function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`not a Structured Field String: ${JSON.stringify(value)}`);
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}
