import { describe, expect, it } from "vitest";
import { ConcurrencyWindow } from "./concurrency-window.js";

const lengths = { stableWindowMs: 60_000, panicWindowMs: 6_000 };

describe("ConcurrencyWindow", () => {
  it("has no averages before any sample (no data is not zero load)", () => {
    const window = new ConcurrencyWindow(lengths);
    expect(window.summary(10_000)).toEqual({ stableConcurrency: undefined, panicConcurrency: undefined, lastActiveAtMs: null });
  });

  it("averages the stable and the panic window separately", () => {
    const window = new ConcurrencyWindow(lengths);
    // 54 s at 10, then 6 s at 40: stable (54·10 + 6·40) / 60 = 13, panic 40.
    for (let t = 0; t < 60; t++) window.record(t * 1000, t < 54 ? 10 : 40);
    expect(window.stableAverage(59_000)).toBe(13);
    expect(window.panicAverage(59_000)).toBe(40);
  });

  it("covers exactly the buckets ending with the one `now` falls in", () => {
    const window = new ConcurrencyWindow(lengths);
    window.record(40_999, 100);
    window.record(41_000, 10);
    // At 100.5 s the stable window is buckets 41 … 100 (41 s to 100.999 s): the 40.999 s sample is out.
    expect(window.stableAverage(100_500)).toBe(10);
    expect(window.stableAverage(100_999)).toBe(10);
    expect(window.stableAverage(101_000)).toBeUndefined();
    // The panic window at 46.2 s is buckets 41 … 46.
    expect(window.panicAverage(46_200)).toBe(10);
    expect(window.panicAverage(47_000)).toBeUndefined();
  });

  it("takes the mean of samples in one bucket, so sampling faster does not weigh a second more", () => {
    const window = new ConcurrencyWindow(lengths);
    window.record(0, 10);
    for (const t of [1000, 1250, 1500, 1750]) window.record(t, t === 1000 ? 40 : 0);
    // Buckets: 0 s → 10, 1 s → (40 + 0 + 0 + 0) / 4 = 10.
    expect(window.stableAverage(1999)).toBe(10);
  });

  it("leaves out seconds with no sample rather than counting them as idle", () => {
    const window = new ConcurrencyWindow(lengths);
    window.record(0, 30);
    window.record(30_000, 10);
    expect(window.stableAverage(30_000)).toBe(20);
  });

  it("keeps at most a stable window of buckets however long and fast it is fed", () => {
    const window = new ConcurrencyWindow(lengths);
    for (let t = 0; t < 600_000; t += 100) window.record(t, 5);
    expect(window.size).toBeLessThanOrEqual(60);
    expect(window.stableAverage(599_900)).toBe(5);
  });

  it("drops a sample older than the stable window of the newest one", () => {
    const window = new ConcurrencyWindow(lengths);
    window.record(100_000, 10);
    window.record(30_000, 1000);
    expect(window.size).toBe(1);
    expect(window.stableAverage(100_000)).toBe(10);
  });

  it("remembers the last non-zero sample after its bucket is gone", () => {
    const window = new ConcurrencyWindow(lengths);
    window.record(5_000, 3);
    window.record(6_000, 0);
    for (let t = 7_000; t <= 200_000; t += 1000) window.record(t, 0);
    expect(window.summary(200_000)).toEqual({ stableConcurrency: 0, panicConcurrency: 0, lastActiveAtMs: 5_000 });
  });

  it("refuses samples that are bugs: negative or not finite", () => {
    const window = new ConcurrencyWindow(lengths);
    expect(() => window.record(0, -1)).toThrow(RangeError);
    expect(() => window.record(Number.NaN, 1)).toThrow(RangeError);
    expect(() => new ConcurrencyWindow({ stableWindowMs: 1000, panicWindowMs: 6000 })).toThrow(RangeError);
  });
});
