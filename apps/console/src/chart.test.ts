import { describe, expect, it } from "vitest";
import { errorRate, linePath, niceCeiling, shortCount, yOf } from "./chart.js";

describe("chart geometry", () => {
  it("rounds an axis top up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.3, 1, 3, 7, 10, 11, 240, 501].map(niceCeiling)).toEqual([1, 0.5, 1, 5, 10, 10, 20, 500, 1000]);
  });

  it("puts zero at the bottom and the top at y = 0, clamping above it", () => {
    expect([yOf(0, 10, 100), yOf(5, 10, 100), yOf(10, 10, 100), yOf(20, 10, 100)]).toEqual([100, 50, 0, 0]);
  });

  it("lifts the pen over buckets without invocations instead of drawing them as zero", () => {
    const path = linePath([10, 20, null, 5], (i) => i * 10, 20, 100);
    expect(path).toBe("M0 50 L10 0 M30 75");
  });

  it("writes counts and error rates short", () => {
    expect([0, 999, 1000, 1250, 15_400, 2_500_000].map(shortCount)).toEqual(["0", "999", "1k", "1.3k", "15k", "2.5M"]);
    expect([errorRate(0, 0), errorRate(0, 10), errorRate(1, 40), errorRate(1, 3)]).toEqual(["–", "0%", "2.5%", "33%"]);
  });
});
