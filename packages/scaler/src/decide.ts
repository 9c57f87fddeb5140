import type { WindowSummary } from "./concurrency-window.js";
import type { ScaleSpec } from "./scale-spec.js";

/**
 * What the loop knows about one function at one instant. The window's part comes from
 * {@link ConcurrencyWindow.summary}; `panicTriggeredAtMs` is the previous decision's, handed back,
 * so that `decide` keeps no state of its own.
 */
export interface ScaleObservations extends WindowSummary {
  /** Replicas the function has now: the last decision the loop acted on. */
  replicas: number;
  /** Requests waiting in gateways' scale-from-zero buffers now (they are in the samples too). */
  pendingRequests: number;
  /** The previous decision's `panicTriggeredAtMs`; null when not panicking. */
  panicTriggeredAtMs: number | null;
}

/** Why a decision came out as it did: the last rule that set the number. */
export type ScaleReason =
  /** No sample in the window: replicas held. */
  | "no-data"
  /** ⌈stable average / target⌉. */
  | "stable"
  /** Panicking: the larger of the two windows' wants, never below the current replicas. */
  | "panic"
  /** Held down by `maxScaleUpRate`. */
  | "scale-up-limited"
  /** Held up by `maxScaleDownRate`. */
  | "scale-down-limited"
  /** No load, but not idle for `scaleToZeroAfterMs` yet: one replica kept. */
  | "awaiting-idle"
  /** Idle long enough: no replica. */
  | "scale-to-zero"
  /** Buffered requests raised it to ⌈pending / target⌉ (at least one). */
  | "activation"
  /** Raised to `minReplicas`. */
  | "min-replicas"
  /** Lowered to `maxReplicas`. */
  | "max-replicas";

/** One function's decision; the loop hands `panicTriggeredAtMs` back in the next observations. */
export interface ScaleDecision {
  replicas: number;
  panicking: boolean;
  /** Last time the panic trigger held (or activation happened); null once panic is over. */
  panicTriggeredAtMs: number | null;
  reason: ScaleReason;
}

/**
 * The KPA policy: how many replicas one function should have at `nowMs`. Pure: same inputs, same
 * answer; no clock, no I/O. In order:
 *
 * 1. want = ⌈average concurrency / target⌉ for the stable and the panic window.
 * 2. Rate limits: each want is kept within [⌊replicas / maxScaleDownRate⌋,
 *    ⌈maxScaleUpRate × max(1, replicas)⌉].
 * 3. Panic: triggered when (panic average / target) ÷ max(1, replicas) ≥ panicThreshold, or when
 *    requests are buffered (scale from zero is a burst by definition). It lasts until a full stable
 *    window passes without a trigger. While panicking the answer is the larger of both wants and
 *    never below the current replicas, so a short spike is not followed by a scale-down before
 *    the stable window has seen it.
 * 4. Scale to zero only when the stable average is 0 and the function has been idle (no non-zero
 *    sample) for `scaleToZeroAfterMs`; until then one replica stays.
 * 5. Activation: with requests buffered, at least ⌈pending / target⌉ and at least one, at once.
 * 6. min/max last: they are the function owner's word and win over everything above.
 */
export function decide(spec: ScaleSpec, observations: ScaleObservations, nowMs: number): ScaleDecision {
  const { replicas: current, pendingRequests: pending, stableConcurrency: stable, panicConcurrency: panic } = observations;
  // The unrounded want, as Knative: with ⌈⌉, 11 in flight at one replica would panic. Buffered
  // requests trigger panic too, also without samples: scale from zero is a burst, and the next
  // decision must not undo the activation before the windows have seen the load.
  const overThreshold = panic !== undefined && panic / spec.targetConcurrency / Math.max(1, current) >= spec.panicThreshold;
  let panicTriggeredAtMs = observations.panicTriggeredAtMs;
  if (overThreshold || pending > 0) panicTriggeredAtMs = nowMs;
  else if (panicTriggeredAtMs !== null && nowMs - panicTriggeredAtMs >= spec.stableWindowMs) panicTriggeredAtMs = null;

  let replicas = current;
  let reason: ScaleReason = "no-data";

  if (stable !== undefined && panic !== undefined) {
    const maxUp = Math.ceil(spec.maxScaleUpRate * Math.max(1, current));
    const maxDown = Math.floor(current / spec.maxScaleDownRate);
    const stableWant = Math.ceil(stable / spec.targetConcurrency);
    const panicWant = Math.ceil(panic / spec.targetConcurrency);
    const stableLimited = clamp(stableWant, maxDown, maxUp);
    const panicLimited = clamp(panicWant, maxDown, maxUp);

    if (panicTriggeredAtMs !== null) {
      replicas = Math.max(stableLimited, panicLimited, current);
      reason = Math.max(stableWant, panicWant) > replicas ? "scale-up-limited" : "panic";
    } else {
      replicas = stableLimited;
      reason = stableWant > replicas ? "scale-up-limited" : stableWant < replicas ? "scale-down-limited" : "stable";
    }

    // replicas is 0 only if stableWant is 0, that is when the stable average is 0.
    if (replicas === 0 && current > 0) {
      const idleSince = observations.lastActiveAtMs;
      const idle = idleSince === null || nowMs - idleSince >= spec.scaleToZeroAfterMs;
      replicas = idle ? 0 : 1;
      reason = idle ? "scale-to-zero" : "awaiting-idle";
    } else if (replicas === 0) {
      reason = "scale-to-zero";
    }
  }

  if (pending > 0) {
    const activation = Math.max(1, Math.ceil(pending / spec.targetConcurrency));
    if (activation > replicas) {
      replicas = activation;
      reason = "activation";
    }
  }

  if (replicas < spec.minReplicas) {
    replicas = spec.minReplicas;
    reason = "min-replicas";
  } else if (replicas > spec.maxReplicas) {
    replicas = spec.maxReplicas;
    reason = "max-replicas";
  }
  return { replicas, panicking: panicTriggeredAtMs !== null, panicTriggeredAtMs, reason };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
