import { describe, expect, it } from "vitest";
import { defaultScaleSpec, resolveScaleSpec, scaleSpecFromSettings, scaleSpecProblem } from "./scale-spec.js";

describe("scale spec", () => {
  it("fills Knative's defaults, also for fields given as undefined", () => {
    expect(resolveScaleSpec({ targetConcurrency: undefined, maxReplicas: 3 })).toEqual({
      targetConcurrency: 10,
      minReplicas: 0,
      maxReplicas: 3,
      stableWindowMs: 60_000,
      panicWindowMs: 6_000,
      panicThreshold: 2,
      scaleToZeroAfterMs: 30_000,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
    });
    expect(scaleSpecProblem({})).toBeUndefined();
    expect(Object.isFrozen(defaultScaleSpec)).toBe(true);
  });

  it("names the key and the allowed range", () => {
    expect(scaleSpecProblem({ targetConcurrency: 0 })).toEqual({ key: "targetConcurrency", message: "targetConcurrency: 0 is out of range; allowed 0.01–10000" });
    expect(scaleSpecProblem({ minReplicas: 1.5 })).toEqual({ key: "minReplicas", message: "minReplicas: 1.5 is out of range; allowed integers 0–1000" });
    expect(scaleSpecProblem({ stableWindowMs: 1000 })?.key).toBe("stableWindowMs");
    expect(scaleSpecProblem({ maxScaleDownRate: 1 })?.key).toBe("maxScaleDownRate");
    expect(scaleSpecProblem({ scaleToZeroAfterMs: Number.POSITIVE_INFINITY })?.key).toBe("scaleToZeroAfterMs");
  });

  it("refuses a max below the min and a panic window longer than the stable one", () => {
    expect(scaleSpecProblem({ minReplicas: 3, maxReplicas: 2 })).toEqual({ key: "maxReplicas", message: "maxReplicas: 2 is below minReplicas (3)" });
    expect(scaleSpecProblem({ stableWindowMs: 10_000, panicWindowMs: 20_000 })?.key).toBe("panicWindowMs");
  });

  it("throws on resolving a spec that was not validated", () => {
    expect(() => resolveScaleSpec({ maxReplicas: 0 })).toThrow(/maxReplicas: 0 is out of range/);
  });

  it("reads a function's stored settings (idle seconds to milliseconds), leaving the rest to the defaults", () => {
    expect(resolveScaleSpec(scaleSpecFromSettings({ min: 1, max: 5, targetConcurrency: 4, idleSeconds: 90 }))).toMatchObject({
      minReplicas: 1,
      maxReplicas: 5,
      targetConcurrency: 4,
      scaleToZeroAfterMs: 90_000,
      stableWindowMs: 60_000,
    });
    expect(resolveScaleSpec(scaleSpecFromSettings({}))).toEqual(defaultScaleSpec);
    expect(scaleSpecProblem(scaleSpecFromSettings({ max: 0 }))?.key).toBe("maxReplicas");
  });

  it("leaves the platform's defaults in place for the settings a function does not have", () => {
    const platform = { maxReplicas: 3, targetConcurrency: 5, scaleToZeroAfterMs: 5_000 };
    expect(scaleSpecFromSettings({})).toEqual({});
    expect(resolveScaleSpec({ ...platform, ...scaleSpecFromSettings({ min: 1 }) })).toMatchObject({ ...platform, minReplicas: 1 });
    expect(resolveScaleSpec({ ...platform, ...scaleSpecFromSettings({ max: 2, idleSeconds: 0 }) })).toMatchObject({ maxReplicas: 2, targetConcurrency: 5, scaleToZeroAfterMs: 0 });
  });
});
