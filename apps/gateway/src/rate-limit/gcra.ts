/**
 * The generic cell rate algorithm (GCRA), the token bucket written as one
 * timestamp per bucket: the theoretical arrival time (TAT) of the next
 * request if traffic came exactly at the policy's rate.
 *
 * With rate r per second and burst b, the emission interval is T = 1000 / r
 * ms. A request at `now` costs one interval: newTat = max(tat, now) + T. It is
 * allowed when newTat − now ≤ b·T, i.e. when the bucket (b·T wide) still has
 * room for it; an idle bucket therefore admits b requests at once, then one
 * every T. Nothing else is stored, and a bucket whose TAT is in the past is
 * the same as no bucket, so entries can be dropped once `now ≥ tat`.
 *
 * The Redis script (redis-rate-limiter.ts) does the same arithmetic; the
 * tests run both on the same sequences.
 */

/** One bucket a request must fit: `key` names it, rate and burst size it. */
export interface RatePolicy {
  /** Shown to clients in RateLimit-Policy / RateLimit, e.g. "tenant" or "key". */
  name: string;
  /** The bucket's identity, e.g. `t:<tenantId>` or `k:<keyId>`. */
  key: string;
  /** Requests per second, sustained (> 0). */
  rate: number;
  /** Requests admitted at once from an idle bucket (≥ 1). */
  burst: number;
}

/** Where one bucket stands after a decision. */
export interface BucketState {
  policy: RatePolicy;
  /** Requests that would still be admitted at once. */
  remaining: number;
  /** Milliseconds until the bucket is full again (idle). */
  resetMs: number;
  /** Milliseconds until the bucket admits one request more than `remaining`; undefined when it is full. */
  nextMs: number | undefined;
}

/** The answer for one request checked against all its buckets at once. */
export interface RateDecision {
  allowed: boolean;
  /** When refused: milliseconds until a retry would be admitted by every bucket. */
  retryAfterMs: number;
  buckets: BucketState[];
}

const epsilonMs = 1e-6;

/** The emission interval T of a policy, in ms. */
export function intervalMs(policy: RatePolicy): number {
  return 1000 / policy.rate;
}

/**
 * Decides one request against several buckets: it is admitted only if every
 * bucket admits it, and only then does any bucket advance (a request refused
 * by its tenant's bucket costs its key nothing, and the other way round).
 * `tats[i]` is the stored TAT of `policies[i]` (undefined: idle). Returns the
 * decision and the TATs to store when admitted.
 */
export function decide(policies: readonly RatePolicy[], tats: ReadonlyArray<number | undefined>, now: number): { decision: RateDecision; newTats: number[] } {
  let allowed = true;
  let retryAfterMs = 0;
  const newTats: number[] = [];
  const waits: number[] = [];
  policies.forEach((policy, i) => {
    const t = intervalMs(policy);
    const newTat = Math.max(tats[i] ?? now, now) + t;
    newTats.push(newTat);
    // How long until this bucket has room: newTat − b·T must not be after now.
    const wait = newTat - policy.burst * t - now;
    waits.push(wait);
    // A nanosecond of slack: T is fractional for rates that do not divide 1000.
    if (wait > epsilonMs) {
      allowed = false;
      retryAfterMs = Math.max(retryAfterMs, wait);
    }
  });
  const buckets = policies.map((policy, i): BucketState => {
    const t = intervalMs(policy);
    const tat = allowed ? newTats[i]! : Math.max(tats[i] ?? now, now);
    // Room left in the b·T-wide bucket, counted in whole requests.
    const room = policy.burst * t - (tat - now);
    const remaining = Math.max(0, Math.floor(room / t + 1e-9));
    // The room grows by one interval per T: one more request fits once it reaches (remaining + 1)·T.
    const nextMs = remaining >= policy.burst ? undefined : Math.max(0, (remaining + 1) * t - room);
    return { policy, remaining, resetMs: Math.max(0, tat - now), nextMs };
  });
  return { decision: { allowed, retryAfterMs: allowed ? 0 : retryAfterMs, buckets }, newTats };
}
