import { describe, expect, it } from "vitest";
import { decide, type ScaleObservations } from "./decide.js";
import { resolveScaleSpec } from "./scale-spec.js";

const spec = resolveScaleSpec();
const now = 1_000_000;
const observe = (o: Partial<ScaleObservations>): ScaleObservations => ({
  stableConcurrency: 0,
  panicConcurrency: 0,
  lastActiveAtMs: null,
  replicas: 0,
  pendingRequests: 0,
  panicTriggeredAtMs: null,
  ...o,
});

describe("decide", () => {
  it("asks for ⌈stable average / target⌉", () => {
    expect(decide(spec, observe({ stableConcurrency: 21, panicConcurrency: 21, replicas: 2 }), now)).toEqual({
      replicas: 3,
      panicking: false,
      panicTriggeredAtMs: null,
      reason: "stable",
    });
  });

  it("holds the replicas without data, and still activates a function with buffered requests", () => {
    const noData = { stableConcurrency: undefined, panicConcurrency: undefined };
    expect(decide(spec, observe({ ...noData, replicas: 4 }), now)).toMatchObject({ replicas: 4, reason: "no-data" });
    expect(decide(spec, observe({ ...noData, replicas: 0, pendingRequests: 1 }), now)).toMatchObject({
      replicas: 1,
      panicking: true,
      panicTriggeredAtMs: now,
      reason: "activation",
    });
  });

  it("panics at exactly the threshold, on the unrounded want", () => {
    // 40 / 10 / 2 = 2 ≥ 2.
    expect(decide(spec, observe({ stableConcurrency: 20, panicConcurrency: 40, replicas: 2 }), now)).toMatchObject({ replicas: 4, panicking: true, panicTriggeredAtMs: now });
    // 39 / 10 / 2 = 1.95: ⌈⌉ would say 4 / 2 = 2, Knative does not panic.
    expect(decide(spec, observe({ stableConcurrency: 20, panicConcurrency: 39, replicas: 2 }), now)).toMatchObject({ replicas: 2, panicking: false });
  });

  it("stays in panic until a full stable window after the last trigger, never scaling down meanwhile", () => {
    const calm = observe({ stableConcurrency: 10, panicConcurrency: 10, replicas: 8, panicTriggeredAtMs: now - 59_999 });
    expect(decide(spec, calm, now)).toMatchObject({ replicas: 8, panicking: true, reason: "panic" });
    expect(decide(spec, { ...calm, panicTriggeredAtMs: now - 60_000 }, now)).toMatchObject({
      replicas: 4,
      panicking: false,
      panicTriggeredAtMs: null,
      reason: "scale-down-limited",
    });
  });

  it("limits a scale-down to replicas / maxScaleDownRate", () => {
    const quarter = resolveScaleSpec({ maxScaleDownRate: 4, maxReplicas: 100 });
    expect(decide(quarter, observe({ stableConcurrency: 1, panicConcurrency: 1, replicas: 17, lastActiveAtMs: now }), now)).toMatchObject({
      replicas: 4,
      reason: "scale-down-limited",
    });
  });

  it("limits a scale-up to maxScaleUpRate × max(1, replicas)", () => {
    const double = resolveScaleSpec({ maxScaleUpRate: 2, maxReplicas: 100 });
    expect(decide(double, observe({ stableConcurrency: 100, panicConcurrency: 100, replicas: 3 }), now)).toMatchObject({ replicas: 6, reason: "scale-up-limited" });
    expect(decide(double, observe({ stableConcurrency: 100, panicConcurrency: 100, replicas: 0 }), now)).toMatchObject({ replicas: 2, reason: "scale-up-limited" });
  });

  it("keeps the last replica until idle for scaleToZeroAfterMs, and treats never-active as idle", () => {
    const idle = observe({ replicas: 1, lastActiveAtMs: now - 29_999 });
    expect(decide(spec, idle, now)).toMatchObject({ replicas: 1, reason: "awaiting-idle" });
    expect(decide(spec, { ...idle, lastActiveAtMs: now - 30_000 }, now)).toMatchObject({ replicas: 0, reason: "scale-to-zero" });
    expect(decide(spec, { ...idle, lastActiveAtMs: null }, now)).toMatchObject({ replicas: 0, reason: "scale-to-zero" });
  });

  it("applies min and max last, also to a spec changed under running replicas", () => {
    const bounded = resolveScaleSpec({ minReplicas: 2, maxReplicas: 3 });
    expect(decide(bounded, observe({ replicas: 9, stableConcurrency: 90, panicConcurrency: 90 }), now)).toMatchObject({ replicas: 3, reason: "max-replicas" });
    expect(decide(bounded, observe({ replicas: 0, pendingRequests: 1 }), now)).toMatchObject({ replicas: 2, reason: "min-replicas" });
  });

  it("activates with ⌈pending / target⌉ even when the windows say less", () => {
    expect(decide(spec, observe({ stableConcurrency: 1, panicConcurrency: 4, replicas: 0, pendingRequests: 25 }), now)).toMatchObject({
      replicas: 3,
      panicking: true,
      reason: "activation",
    });
  });
});
