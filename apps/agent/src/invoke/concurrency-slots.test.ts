import { describe, expect, it } from "vitest";
import { ConcurrencySlots } from "./concurrency-slots.js";

describe("ConcurrencySlots", () => {
  it("refuses past the limit and takes again once a slot is given back", () => {
    const slots = new ConcurrencySlots();
    const first = slots.tryAcquire("t:f", 2);
    const second = slots.tryAcquire("t:f", 2);
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(slots.tryAcquire("t:f", 2)).toBeUndefined();
    first?.();
    expect(slots.tryAcquire("t:f", 2)).toBeDefined();
  });

  it("counts each function apart", () => {
    const slots = new ConcurrencySlots();
    expect(slots.tryAcquire("t:a", 1)).toBeDefined();
    expect(slots.tryAcquire("t:b", 1)).toBeDefined();
    expect(slots.tryAcquire("t:a", 1)).toBeUndefined();
  });

  it("gives a slot back once however often its release is called", () => {
    const slots = new ConcurrencySlots();
    const release = slots.tryAcquire("t:f", 3)!;
    slots.tryAcquire("t:f", 3);
    release();
    release();
    expect(slots.inFlight("t:f")).toBe(1);
  });

  it("counts without limit at 0, so a limit set later sees what already runs", () => {
    const slots = new ConcurrencySlots();
    for (let i = 0; i < 5; i++) expect(slots.tryAcquire("t:f", 0)).toBeDefined();
    expect(slots.inFlight("t:f")).toBe(5);
    expect(slots.tryAcquire("t:f", 5)).toBeUndefined();
  });
});
