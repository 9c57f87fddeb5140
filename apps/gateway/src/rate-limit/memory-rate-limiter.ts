import { decide, type RateDecision, type RatePolicy } from "./gcra.js";
import type { RateLimiter } from "./rate-limiter.js";

/**
 * GCRA buckets in this process: the default, and the fallback while Redis is
 * unreachable. A bucket is one number; buckets that are idle again (TAT in
 * the past) are dropped on a sweep, so memory follows the active keys only.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly tats = new Map<string, number>();
  private nextSweep = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sweepEveryMs = 10_000,
  ) {}

  async check(policies: readonly RatePolicy[]): Promise<RateDecision> {
    return this.checkSync(policies);
  }

  /** The same decision without a promise, for callers on the hot path and tests. */
  checkSync(policies: readonly RatePolicy[]): RateDecision {
    const now = this.now();
    if (now >= this.nextSweep) this.sweep(now);
    const { decision, newTats } = decide(
      policies,
      policies.map((p) => this.tats.get(p.key)),
      now,
    );
    if (decision.allowed) policies.forEach((p, i) => this.tats.set(p.key, newTats[i]!));
    return decision;
  }

  /** Buckets held now (idle ones may linger until the next sweep). */
  get size(): number {
    return this.tats.size;
  }

  async close(): Promise<void> {
    this.tats.clear();
  }

  private sweep(now: number): void {
    this.nextSweep = now + this.sweepEveryMs;
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
  }
}
