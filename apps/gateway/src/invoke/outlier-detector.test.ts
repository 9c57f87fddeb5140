import { describe, expect, it } from "vitest";
import { OutlierDetector } from "./outlier-detector.js";

function detector() {
  let now = 0;
  const d = new OutlierDetector({ failures: 3, baseEjectMs: 1000, maxEjectMs: 4000, now: () => now });
  return { d, advance: (ms: number) => (now += ms) };
}

describe("OutlierDetector", () => {
  it("ejects after consecutive failures only; a success in between starts over", () => {
    const { d } = detector();
    d.failure("a");
    d.failure("a");
    d.success("a");
    d.failure("a");
    d.failure("a");
    expect(d.admit("a")).toBe(true);
    d.failure("a");
    expect(d.state("a")).toBe("open");
    expect(d.admit("a")).toBe(false);
    expect(d.admit("b")).toBe(true);
    expect(d.ejected()).toEqual(["a"]);
  });

  it("lets one probe through after the cool-down; its success closes the circuit", () => {
    const { d, advance } = detector();
    for (let i = 0; i < 3; i++) d.failure("a");
    advance(999);
    expect(d.admit("a")).toBe(false);
    advance(1);
    expect(d.isAvailable("a")).toBe(true);
    expect(d.admit("a")).toBe(true);
    expect(d.admit("a")).toBe(false);
    d.success("a");
    expect(d.state("a")).toBe("closed");
    expect(d.admit("a")).toBe(true);
    expect(d.ejected()).toEqual([]);
  });

  it("ejects again for twice as long when the probe fails, up to the cap", () => {
    const { d, advance } = detector();
    for (let i = 0; i < 3; i++) d.failure("a");
    const cooldowns: number[] = [];
    for (let round = 0; round < 4; round++) {
      let waited = 0;
      while (!d.isAvailable("a")) {
        advance(100);
        waited += 100;
      }
      cooldowns.push(waited);
      expect(d.admit("a")).toBe(true);
      d.failure("a");
    }
    expect(cooldowns).toEqual([1000, 2000, 4000, 4000]);
  });
});
