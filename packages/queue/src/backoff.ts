/** Exponential backoff between the deliveries of a failing message. */
export interface BackoffPolicy {
  /** The delay after the first failed attempt. */
  baseMs: number;
  /** Each further failure multiplies the delay by this. */
  factor: number;
  /** The delay never exceeds this. */
  maxMs: number;
  /**
   * 0–1: the share of the delay that is random, so messages that failed together do not all
   * come back at the same instant. The delay is drawn from [(1 − jitter)·d, d].
   */
  jitter: number;
}

/** 1 s, 2 s, 4 s … up to 5 min, 20 % jitter. */
export const defaultBackoff: BackoffPolicy = { baseMs: 1_000, factor: 2, maxMs: 300_000, jitter: 0.2 };

/**
 * The delay before the next delivery after `attempt` (1-based) failed:
 * d = min(maxMs, baseMs · factor^(attempt − 1)), then d · (1 − jitter · r) with r in [0, 1).
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  // factor^(attempt − 1) may be Infinity on a late attempt; 0 · Infinity would be NaN.
  if (policy.baseMs === 0) return 0;
  const exponential = policy.baseMs * policy.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxMs, exponential);
  return Math.round(capped * (1 - policy.jitter * random()));
}
