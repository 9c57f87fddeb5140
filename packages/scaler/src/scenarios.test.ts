import { describe, expect, it } from "vitest";
import { replay, s, step } from "./test-support/replay.js";

// Load replayed over virtual time, one decision a second, replicas ready at once. Target 10
// per replica, stable window 60 s and panic window 6 s (the defaults) unless a test says otherwise.

describe("steady load", () => {
  it("keeps ⌈25 / 10⌉ = 3 replicas and never panics", () => {
    const run = replay({ functions: { f: { load: () => 25, startReplicas: 3 } }, untilMs: s(300) });
    for (const { decisions } of run.ticks) expect(decisions.f).toMatchObject({ replicas: 3, panicking: false, reason: "stable" });
  });

  it("from zero, goes to 3 at once (a burst: panic) and leaves panic a stable window later", () => {
    const run = replay({ functions: { f: { load: () => 25 } }, untilMs: s(120) });
    expect(run.at("f", 0)).toMatchObject({ replicas: 3, panicking: true });
    expect(run.at("f", s(59))).toMatchObject({ replicas: 3, panicking: true });
    expect(run.at("f", s(60))).toMatchObject({ replicas: 3, panicking: false, reason: "stable" });
  });
});

describe("a load step from 5 to 50 at 100 s", () => {
  const run = replay({ functions: { f: { load: step(5, s(100), 50), startReplicas: 1 } }, untilMs: s(200) });

  it("scales within the panic window, not after the stable one", () => {
    expect(run.at("f", s(100))).toMatchObject({ replicas: 1, panicking: false });
    // At 101 s the panic window's mean is (4·5 + 2·50) / 6 = 20: 2 replicas, twice the current one.
    expect(run.at("f", s(101))).toMatchObject({ replicas: 2, panicking: true, reason: "panic" });
    expect(run.at("f", s(102)).replicas).toBe(3);
    expect(run.at("f", s(103)).replicas).toBe(4);
    expect(run.at("f", s(104)).replicas).toBe(5);
    // The stable window alone would still ask for ⌈(54·5 + 6·50) / 60 / 10⌉ = 1 here.
    expect(run.at("f", s(105)).replicas).toBe(5);
  });

  it("leaves panic a full stable window after the last trigger (101 s), keeping 5", () => {
    expect(run.at("f", s(160))).toMatchObject({ replicas: 5, panicking: true });
    expect(run.at("f", s(161))).toMatchObject({ replicas: 5, panicking: false, reason: "stable" });
    expect(run.at("f", s(200))).toMatchObject({ replicas: 5, panicking: false });
  });
});

describe("a 3-second spike from 10 to 100 at 100 s", () => {
  const spike = (t: number) => (t >= s(100) && t < s(103) ? 100 : 10);
  const run = replay({ functions: { f: { load: spike, startReplicas: 1 } }, untilMs: s(200) });

  it("scales up in panic and does not scale down while panicking", () => {
    expect(run.at("f", s(100))).toMatchObject({ replicas: 3, panicking: true });
    expect(run.at("f", s(101)).replicas).toBe(4);
    expect(run.at("f", s(102)).replicas).toBe(6);
    for (let t = s(103); t <= s(159); t += s(1)) expect(run.at("f", t)).toMatchObject({ replicas: 6, panicking: true });
  });

  it("after panic, scales down at most by half per decision", () => {
    // Stable mean at 160 s: (2·100 + 58·10) / 60 = 13 → 2 wanted, but ⌊6 / 2⌋ = 3 is the floor.
    expect(run.at("f", s(160))).toMatchObject({ replicas: 3, panicking: false, reason: "scale-down-limited" });
    expect(run.at("f", s(161))).toMatchObject({ replicas: 2, reason: "stable" });
    expect(run.at("f", s(162))).toMatchObject({ replicas: 1, reason: "stable" });
  });
});

describe("a load drop from 100 to 10 at 100 s", () => {
  const run = replay({ functions: { f: { spec: { maxReplicas: 20 }, load: step(100, s(100), 10), startReplicas: 10 } }, untilMs: s(200) });

  it("scales down gradually, as the stable window forgets the load, and reaches 1 after a full window", () => {
    expect(run.at("f", s(100)).replicas).toBe(10);
    expect(run.at("f", s(105)).replicas).toBe(10);
    // (53·100 + 7·10) / 60 = 89.5 → 9.
    expect(run.at("f", s(106)).replicas).toBe(9);
    // (29·100 + 31·10) / 60 = 53.5 → 6.
    expect(run.at("f", s(130)).replicas).toBe(6);
    expect(run.at("f", s(158)).replicas).toBe(2);
    expect(run.at("f", s(159)).replicas).toBe(1);
    for (const { decisions } of run.ticks) expect(decisions.f!.panicking).toBe(false);
  });
});

describe("scale to zero", () => {
  const load = step(10, s(100), 0);

  it("waits for scaleToZeroAfterMs of idleness (last load at 99 s, 120 s idle → 219 s)", () => {
    const run = replay({ functions: { f: { spec: { scaleToZeroAfterMs: s(120) }, load, startReplicas: 1 } }, untilMs: s(300) });
    expect(run.at("f", s(158))).toMatchObject({ replicas: 1, reason: "stable" });
    expect(run.at("f", s(159))).toMatchObject({ replicas: 1, reason: "awaiting-idle" });
    expect(run.at("f", s(218))).toMatchObject({ replicas: 1, reason: "awaiting-idle" });
    expect(run.at("f", s(219))).toMatchObject({ replicas: 0, reason: "scale-to-zero" });
    expect(run.at("f", s(300)).replicas).toBe(0);
  });

  it("with the default 30 s, goes as soon as the stable window holds only zeros", () => {
    const run = replay({ functions: { f: { load, startReplicas: 1 } }, untilMs: s(200) });
    expect(run.at("f", s(158)).replicas).toBe(1);
    expect(run.at("f", s(159))).toMatchObject({ replicas: 0, reason: "scale-to-zero" });
  });

  it("never goes below minReplicas", () => {
    const run = replay({ functions: { f: { spec: { minReplicas: 2 }, load: () => 0 } }, untilMs: s(300) });
    for (const { decisions } of run.ticks) expect(decisions.f).toMatchObject({ replicas: 2, reason: "min-replicas" });
  });
});

describe("activation from zero", () => {
  // Idle at 0 replicas; at 100 s 30 requests arrive and wait in the buffer; from 101 s they run.
  const run = replay({
    functions: { f: { load: (t) => (t > s(100) ? 30 : 0), pending: (t) => (t === s(100) ? 30 : 0) } },
    untilMs: s(200),
  });

  it("gets ⌈30 / 10⌉ replicas in the decision that sees the buffered requests", () => {
    expect(run.at("f", s(99))).toMatchObject({ replicas: 0, reason: "scale-to-zero" });
    expect(run.at("f", s(100))).toMatchObject({ replicas: 3, panicking: true, reason: "activation" });
  });

  it("keeps them while the windows catch up (activation counts as a panic trigger)", () => {
    // Without panic the stable mean at 101 s, (30 + 30) / 60 = 1, would take it back to 1.
    expect(run.at("f", s(101))).toMatchObject({ replicas: 3, panicking: true });
    expect(run.at("f", s(159))).toMatchObject({ replicas: 3, panicking: true });
    expect(run.at("f", s(160))).toMatchObject({ replicas: 3, panicking: false, reason: "stable" });
  });
});

describe("limits", () => {
  it("never exceeds maxReplicas", () => {
    const run = replay({ functions: { f: { spec: { maxReplicas: 4 }, load: () => 100, startReplicas: 4 } }, untilMs: s(120) });
    for (const { decisions } of run.ticks) expect(decisions.f).toMatchObject({ replicas: 4, reason: "max-replicas" });
  });

  it("scales up at most maxScaleUpRate times per decision", () => {
    const run = replay({
      functions: { f: { spec: { maxScaleUpRate: 2, maxReplicas: 100 }, load: step(10, s(100), 400), startReplicas: 1 } },
      untilMs: s(110),
    });
    const replicas = [100, 101, 102, 103, 104, 105].map((t) => run.at("f", s(t)).replicas);
    expect(replicas).toEqual([2, 4, 8, 16, 32, 40]);
    expect(run.at("f", s(104)).reason).toBe("scale-up-limited");
    expect(run.at("f", s(105)).reason).toBe("panic");
  });
});

describe("a tenant capped at 6 replicas with two functions", () => {
  // a wants ⌈80 / 10⌉ = 8 all along; b gets 20 in flight from 100 s.
  const run = replay({
    quota: { maxReplicas: 6 },
    functions: { a: { load: () => 80, startReplicas: 6 }, b: { load: step(0, s(100), 20) } },
    untilMs: s(240),
  });

  it("gives the busy function everything while it is alone", () => {
    expect(run.at("a", s(99)).replicas).toBe(6);
    expect(run.at("b", s(99)).replicas).toBe(0);
  });

  it("gives the newcomer a replica at once and shares the rest by demand (8 : 2 of 6 → 5 : 1)", () => {
    expect(run.at("a", s(100)).replicas).toBe(5);
    expect(run.at("b", s(100)).replicas).toBe(1);
    expect(run.at("a", s(240)).replicas).toBe(5);
    expect(run.at("b", s(240)).replicas).toBe(1);
  });

  it("never runs more than 6 replicas in total", () => {
    for (const { decisions } of run.ticks) expect(decisions.a!.replicas + decisions.b!.replicas).toBeLessThanOrEqual(6);
  });
});
