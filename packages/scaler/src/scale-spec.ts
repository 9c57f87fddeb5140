/**
 * How one function scales. Every field has a default, so a function that declares nothing still
 * scales (to zero when idle, up to ten replicas); the names and defaults follow Knative's KPA.
 */
export interface ScaleSpec {
  /** In-flight requests one replica is meant to carry; desired replicas = ⌈concurrency / this⌉. */
  targetConcurrency: number;
  /** Replicas kept even when idle; above 0 the function never scales to zero. */
  minReplicas: number;
  /** Replicas never exceeded, whatever the load (the tenant's quota may cap lower). */
  maxReplicas: number;
  /** Window whose average concurrency drives ordinary scaling, up and down. */
  stableWindowMs: number;
  /** Short window that notices a burst long before the stable average does. */
  panicWindowMs: number;
  /**
   * Panic starts when the panic window asks for this many times the current replicas
   * ((panic average / target) ÷ max(1, replicas) ≥ threshold, unrounded as in Knative).
   */
  panicThreshold: number;
  /** Time since the last non-zero concurrency before the last replica may go. */
  scaleToZeroAfterMs: number;
  /** At most this many times the current replicas (at least one) in one decision. */
  maxScaleUpRate: number;
  /** At least current ÷ this replicas are kept in one decision: 2 halves at most. */
  maxScaleDownRate: number;
}

/** The platform's defaults, Knative's where it has one. */
export const defaultScaleSpec: Readonly<ScaleSpec> = Object.freeze({
  targetConcurrency: 10,
  minReplicas: 0,
  maxReplicas: 10,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  panicThreshold: 2,
  scaleToZeroAfterMs: 30_000,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
});

/**
 * Allowed ranges, inclusive. The windows follow Knative (stable 6 s–1 h; panic at most the stable
 * window); replicas stop at 1000 so that sharing a tenant's quota stays a small loop.
 */
export const scaleSpecRanges: Readonly<Record<keyof ScaleSpec, { min: number; max: number; integer: boolean }>> = Object.freeze({
  targetConcurrency: { min: 0.01, max: 10_000, integer: false },
  minReplicas: { min: 0, max: 1000, integer: true },
  maxReplicas: { min: 1, max: 1000, integer: true },
  stableWindowMs: { min: 6_000, max: 3_600_000, integer: true },
  panicWindowMs: { min: 1_000, max: 3_600_000, integer: true },
  panicThreshold: { min: 1.1, max: 10, integer: false },
  scaleToZeroAfterMs: { min: 0, max: 86_400_000, integer: true },
  maxScaleUpRate: { min: 1.1, max: 1000, integer: false },
  maxScaleDownRate: { min: 1.1, max: 1000, integer: false },
});

/** A field of a scale spec refused, with the reason naming the allowed range. */
export interface ScaleSpecProblem {
  key: keyof ScaleSpec;
  message: string;
}

/**
 * The first field of `input` (defaults filled in) that is out of range, or undefined. A value,
 * not a throw: the API and CLI report it to the user with the key it names.
 */
export function scaleSpecProblem(input: Partial<ScaleSpec>): ScaleSpecProblem | undefined {
  const spec = withDefaults(input);
  for (const key of Object.keys(scaleSpecRanges) as Array<keyof ScaleSpec>) {
    const { min, max, integer } = scaleSpecRanges[key];
    const value = spec[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      return { key, message: `${key}: ${String(value)} is out of range; allowed ${integer ? "integers " : ""}${min}–${max}` };
    }
  }
  if (spec.maxReplicas < spec.minReplicas) {
    return { key: "maxReplicas", message: `maxReplicas: ${spec.maxReplicas} is below minReplicas (${spec.minReplicas})` };
  }
  if (spec.panicWindowMs > spec.stableWindowMs) {
    return { key: "panicWindowMs", message: `panicWindowMs: ${spec.panicWindowMs} is longer than stableWindowMs (${spec.stableWindowMs})` };
  }
  return undefined;
}

/**
 * The spec with defaults filled in. Throws a RangeError naming the key when a field is out of
 * range: callers validate user input with {@link scaleSpecProblem} first, so this is a bug.
 */
export function resolveScaleSpec(input: Partial<ScaleSpec> = {}): ScaleSpec {
  const problem = scaleSpecProblem(input);
  if (problem) throw new RangeError(problem.message);
  return withDefaults(input);
}

/** Defaults under the fields given; a field given as undefined takes its default, others are ignored. */
function withDefaults(input: Partial<ScaleSpec>): ScaleSpec {
  const spec = { ...defaultScaleSpec };
  for (const key of Object.keys(defaultScaleSpec) as Array<keyof ScaleSpec>) {
    const value = input[key];
    if (value !== undefined) spec[key] = value;
  }
  return spec;
}

/** A function's stored scale settings (`FunctionScale` in `@isle/db`): what its owner may set. */
export interface ScaleSettings {
  min?: number;
  max?: number;
  targetConcurrency?: number;
  idleSeconds?: number;
}

/**
 * The part of a spec a function's stored settings give; the rest is the platform's. Kept here, not
 * in the loop, so the API can validate settings with {@link scaleSpecProblem} under the same names.
 * Only the settings the function has are keys of the result, so spreading it over the platform's
 * defaults keeps those it does not set.
 */
export function scaleSpecFromSettings(settings: ScaleSettings): Partial<ScaleSpec> {
  const spec: Partial<ScaleSpec> = {};
  if (settings.min !== undefined) spec.minReplicas = settings.min;
  if (settings.max !== undefined) spec.maxReplicas = settings.max;
  if (settings.targetConcurrency !== undefined) spec.targetConcurrency = settings.targetConcurrency;
  if (settings.idleSeconds !== undefined) spec.scaleToZeroAfterMs = settings.idleSeconds * 1000;
  return spec;
}
