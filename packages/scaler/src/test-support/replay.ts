import { ConcurrencyWindow } from "../concurrency-window.js";
import { decide, type ScaleDecision } from "../decide.js";
import { resolveScaleSpec, type ScaleSpec } from "../scale-spec.js";
import { capToTenantQuota, type TenantScaleQuota } from "../tenant-quota.js";

/** Load as a function of virtual time: in-flight requests at `atMs`. */
export type Load = (atMs: number) => number;

export interface ReplayedFunction {
  spec?: Partial<ScaleSpec>;
  /** In-flight requests (what the replicas report). */
  load: Load;
  /** Requests waiting in a scale-from-zero buffer (added to the sample, and observed as pending). */
  pending?: Load;
  startReplicas?: number;
}

export interface Replay {
  /** The decision taken at `atMs` (after the tenant quota), for one function. */
  at(functionId: string, atMs: number): ScaleDecision;
  /** Every tick's decisions, in time order. */
  ticks: Array<{ atMs: number; decisions: Record<string, ScaleDecision> }>;
}

/**
 * Plays the scaler loop over virtual time: every `tickMs` from `fromMs` to `untilMs` inclusive it
 * samples each function's load, decides, fits the tenant's quota (if any), and takes the result as
 * the replicas at once (replicas are ready the moment they are asked for).
 */
export function replay(options: {
  functions: Record<string, ReplayedFunction>;
  quota?: TenantScaleQuota;
  fromMs?: number;
  untilMs: number;
  tickMs?: number;
}): Replay {
  const { fromMs = 0, untilMs, tickMs = 1000, quota } = options;
  const state = Object.entries(options.functions).map(([id, f]) => {
    const spec = resolveScaleSpec(f.spec);
    return { id, f, spec, window: new ConcurrencyWindow(spec), replicas: f.startReplicas ?? 0, panicTriggeredAtMs: null as number | null };
  });
  const ticks: Replay["ticks"] = [];
  for (let now = fromMs; now <= untilMs; now += tickMs) {
    const decisions = state.map((s) => {
      const pending = s.f.pending?.(now) ?? 0;
      s.window.record(now, s.f.load(now) + pending);
      return decide(s.spec, { ...s.window.summary(now), replicas: s.replicas, pendingRequests: pending, panicTriggeredAtMs: s.panicTriggeredAtMs }, now);
    });
    const grants = quota
      ? capToTenantQuota(quota, state.map((s, i) => ({ functionId: s.id, replicas: decisions[i]!.replicas, targetConcurrency: s.spec.targetConcurrency })))
      : undefined;
    const tick: Record<string, ScaleDecision> = {};
    state.forEach((s, i) => {
      const decision = { ...decisions[i]!, replicas: grants?.[i]!.replicas ?? decisions[i]!.replicas };
      s.replicas = decision.replicas;
      s.panicTriggeredAtMs = decision.panicTriggeredAtMs;
      tick[s.id] = decision;
    });
    ticks.push({ atMs: now, decisions: tick });
  }
  return {
    ticks,
    at(functionId, atMs) {
      const tick = ticks.find((t) => t.atMs === atMs);
      const decision = tick?.decisions[functionId];
      if (!decision) throw new Error(`no decision for ${functionId} at ${atMs} ms`);
      return decision;
    },
  };
}

/** A load that is `before` until `atMs`, then `after`. */
export const step = (before: number, atMs: number, after: number): Load => (t) => (t < atMs ? before : after);

/** Seconds to milliseconds, for readable virtual times. */
export const s = (seconds: number) => seconds * 1000;
