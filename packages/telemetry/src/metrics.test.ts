import { describe, expect, it } from "vitest";
import { Counter, LabelCap, metricsContentType, otherLabel, Registry } from "./metrics.js";

describe("LabelCap", () => {
  it("keeps the first max values and folds the rest into other", () => {
    const cap = new LabelCap(2);
    expect(cap.fold("a")).toBe("a");
    expect(cap.fold("b")).toBe("b");
    expect(cap.fold("c")).toBe(otherLabel);
    // A kept value stays kept; a folded one stays folded.
    expect(cap.fold("a")).toBe("a");
    expect(cap.fold("c")).toBe(otherLabel);
    expect(cap.size).toBe(2);
  });

  it("bounds the series of a counter however many values arrive", async () => {
    const registry = new Registry();
    const counter = new Counter({ name: "t_total", help: "t", labelNames: ["tenant"], registers: [registry] });
    const cap = new LabelCap(10);
    for (let i = 0; i < 1000; i++) counter.inc({ tenant: cap.fold(`tenant-${i}`) });
    const series = (await registry.metrics()).split("\n").filter((line) => line.startsWith("t_total{"));
    expect(series).toHaveLength(11);
    expect(series).toContain('t_total{tenant="_other"} 990');
  });

  it("refuses a nonsense limit", () => {
    expect(() => new LabelCap(-1)).toThrow(/non-negative/);
  });

  it("names the Prometheus text format", () => {
    expect(metricsContentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
