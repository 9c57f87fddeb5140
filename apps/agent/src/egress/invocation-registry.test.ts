import { afterEach, describe, expect, it, vi } from "vitest";
import { InvocationRegistry, type InvocationEgress } from "./invocation-registry.js";

const egress = (isolateId: string): InvocationEgress => ({ isolateId, tenantName: "acme", maxSubrequests: 5, callToken: "", traceparent: "", tracestate: "" });

afterEach(() => {
  vi.useRealTimers();
});

describe("InvocationRegistry", () => {
  it("keeps an ended invocation for its grace, then forgets it, with one timer for many", () => {
    vi.useFakeTimers();
    const registry = new InvocationRegistry(30_000);
    const ends = Array.from({ length: 3000 }, (_, i) => registry.begin(`inv-${i}`, egress(`iso-${i % 7}`)));
    for (const end of ends.slice(0, 2000)) end();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(29_999);
    expect(registry.size).toBe(3000);
    expect(registry.attribute("iso-0", "inv-0")?.isolateId).toBe("iso-0");
    vi.advanceTimersByTime(1);
    expect(registry.size).toBe(1000); // the 1 000 still running stay
    expect(registry.attribute("iso-0", "inv-0")).toBeDefined(); // the isolate's newest running one
    expect(registry.sinkFor("iso-0", "inv-0")).toBeUndefined();
    for (const end of ends.slice(2000)) end();
    vi.advanceTimersByTime(30_000);
    expect(registry.size).toBe(0);
    expect(registry.attribute("iso-0", null)).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("sweeps invocations that ended at different times each when its own grace runs out, at most a second late", () => {
    vi.useFakeTimers();
    const registry = new InvocationRegistry(10_000);
    const first = registry.begin("a", egress("iso"));
    const second = registry.begin("b", egress("iso"));
    first();
    vi.advanceTimersByTime(4_000);
    second();
    vi.advanceTimersByTime(6_000);
    expect(registry.size).toBe(1);
    vi.advanceTimersByTime(5_000);
    expect(registry.size).toBe(0);
  });

  it("ends an invocation once however often its end is called", () => {
    vi.useFakeTimers();
    const registry = new InvocationRegistry(1_000);
    const end = registry.begin("a", egress("iso"));
    end();
    end();
    vi.advanceTimersByTime(1_000);
    registry.begin("a", egress("iso")); // the same id again, later: a new invocation that runs
    vi.advanceTimersByTime(5_000);
    expect(registry.size).toBe(1);
  });
});
