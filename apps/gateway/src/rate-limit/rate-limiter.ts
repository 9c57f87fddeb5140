import type { RateDecision, RatePolicy } from "./gcra.js";

/** Admits or refuses one request against its buckets (tenant, key, …), atomically. */
export interface RateLimiter {
  check(policies: readonly RatePolicy[]): Promise<RateDecision>;
  close(): Promise<void>;
}
