/** Where a target stands: serving, ejected, or allowed one probe after its cool-down. */
export type BreakerState = "closed" | "open" | "half_open";

export interface OutlierOptions {
  /** Consecutive failures that eject a target. */
  failures: number;
  /** First ejection; each ejection that follows a failed probe doubles it. */
  baseEjectMs: number;
  maxEjectMs: number;
  /** A probe whose outcome never came (its request was never sent) frees its slot after this long. */
  probeTimeoutMs: number;
  now: () => number;
  /** Told of every ejection, for logs and metrics. */
  onEject?: (key: string, ejectMs: number) => void;
}

interface Target {
  consecutiveFailures: number;
  state: BreakerState;
  ejectMs: number;
  reopensAtMs: number;
  probing: boolean;
  probeStartedMs: number;
}

export const defaultOutlierOptions: OutlierOptions = {
  failures: 5,
  baseEjectMs: 5_000,
  maxEjectMs: 60_000,
  probeTimeoutMs: 60_000,
  now: Date.now,
};

/**
 * Circuit breaking with outlier ejection, per target (an agent, or one
 * function on one agent): after `failures` failures in a row the target gets
 * no requests for a cool-down; then exactly one request probes it — success
 * closes the circuit, failure ejects it again for twice as long (capped).
 * Only failures that are the target's fault may be reported: a function that
 * throws or spins says nothing about its agent.
 */
export class OutlierDetector {
  private readonly targets = new Map<string, Target>();
  private readonly options: OutlierOptions;

  constructor(options: Partial<OutlierOptions> = {}) {
    this.options = { ...defaultOutlierOptions, ...options };
  }

  /** Whether a request may go to `key` now; in half-open state, true for the one probe only. */
  admit(key: string): boolean {
    const target = this.targets.get(key);
    if (!target || target.state === "closed") return true;
    if (target.state === "open") {
      if (this.options.now() < target.reopensAtMs) return false;
      target.state = "half_open";
      target.probing = false;
    }
    if (this.probeOut(target)) return false;
    target.probing = true;
    target.probeStartedMs = this.options.now();
    return true;
  }

  /** Whether `key` would be admitted, without taking the probe slot. */
  isAvailable(key: string): boolean {
    const target = this.targets.get(key);
    if (!target || target.state === "closed") return true;
    if (target.state === "open") return this.options.now() >= target.reopensAtMs;
    return !this.probeOut(target);
  }

  private probeOut(target: Target): boolean {
    return target.probing && this.options.now() - target.probeStartedMs < this.options.probeTimeoutMs;
  }

  /** A success closes the circuit and forgets the target's history. */
  success(key: string): void {
    this.targets.delete(key);
  }

  failure(key: string): void {
    const target = this.targets.get(key) ?? this.fresh(key);
    if (target.state === "half_open") {
      this.eject(key, target, Math.min(target.ejectMs * 2, this.options.maxEjectMs));
      return;
    }
    if (target.state === "open") return;
    target.consecutiveFailures++;
    if (target.consecutiveFailures >= this.options.failures) this.eject(key, target, this.options.baseEjectMs);
  }

  state(key: string): BreakerState {
    const target = this.targets.get(key);
    if (!target) return "closed";
    if (target.state === "open" && this.options.now() >= target.reopensAtMs) return "half_open";
    return target.state;
  }

  /** Targets currently not taking regular traffic (open or half-open), for metrics and logs. */
  ejected(): string[] {
    return [...this.targets.entries()].filter(([, t]) => t.state !== "closed").map(([key]) => key);
  }

  private fresh(key: string): Target {
    const target: Target = { consecutiveFailures: 0, state: "closed", ejectMs: 0, reopensAtMs: 0, probing: false, probeStartedMs: 0 };
    this.targets.set(key, target);
    return target;
  }

  private eject(key: string, target: Target, ejectMs: number): void {
    target.state = "open";
    target.ejectMs = ejectMs;
    target.reopensAtMs = this.options.now() + ejectMs;
    target.probing = false;
    target.consecutiveFailures = 0;
    this.options.onEject?.(key, ejectMs);
  }
}
