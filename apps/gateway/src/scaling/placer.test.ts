import { describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { Membership } from "../control/membership.js";
import { OutlierDetector } from "../invoke/outlier-detector.js";
import { Placer, type ReplicaSource } from "./placer.js";

const report = (agentId: string) =>
  ({ agentId, address: `${agentId}:7443`, capacity: 10, inFlight: 0, draining: false, workerdReady: 2, loaded: [] }) as never;

/** Replica counts in memory, with an activation that resolves when the test says so. */
function replicaSource(initial: Record<string, number> = {}) {
  const counts = new Map(Object.entries(initial));
  let release: () => void = () => undefined;
  let activation: Promise<number> | undefined;
  const source: ReplicaSource = {
    replicas: (fn) => counts.get(fn) ?? 0,
    // Like the real table: concurrent activations of a function share one.
    activate: (_tenant, fn) =>
      (activation ??= new Promise((resolve) => {
        release = () => {
          counts.set(fn, 1);
          resolve(1);
        };
      })),
  };
  return { source, release: () => release() };
}

describe("Placer", () => {
  it("places a function that has replicas at once, without waiting", () => {
    const membership = new Membership();
    membership.report(report("a1"), {});
    const placer = new Placer(membership, new OutlierDetector(), replicaSource({ fn: 1 }).source);
    expect(placer.placeNow({ tenantId: "t", functionId: "fn" })?.agentId).toBe("a1");
  });

  it("holds requests for a function at zero while one activation runs, then places them all", async () => {
    const membership = new Membership();
    membership.report(report("a1"), {});
    const replicas = replicaSource();
    const placer = new Placer(membership, new OutlierDetector(), replicas.source, { recheckMs: 1 });
    expect(placer.placeNow({ tenantId: "t", functionId: "fn" })).toBeUndefined();
    const waiting = Array.from({ length: 3 }, () => placer.place({ tenantId: "t", functionId: "fn" }));
    await new Promise((r) => setTimeout(r, 5));
    expect(placer.buffered().get("fn")).toBe(3);
    replicas.release();
    expect((await Promise.all(waiting)).map((a) => a.agentId)).toEqual(["a1", "a1", "a1"]);
    expect(placer.buffered().size).toBe(0);
  });

  it("answers unavailable past the buffer, and keeps the buffered requests waiting", async () => {
    const membership = new Membership();
    membership.report(report("a1"), {});
    const replicas = replicaSource();
    const placer = new Placer(membership, new OutlierDetector(), replicas.source, { bufferPerFunction: 2, recheckMs: 1 });
    const held = [placer.place({ tenantId: "t", functionId: "fn" }), placer.place({ tenantId: "t", functionId: "fn" })];
    const refused = await placer.place({ tenantId: "t", functionId: "fn" }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(IsleError);
    expect((refused as IsleError).code).toBe("unavailable");
    replicas.release();
    expect(await Promise.all(held)).toHaveLength(2);
  });

  it("waits for an agent to join, up to its deadline, and no longer", async () => {
    const membership = new Membership();
    const placer = new Placer(membership, new OutlierDetector(), replicaSource({ fn: 2 }).source, { recheckMs: 1 });
    const late = placer.place({ tenantId: "t", functionId: "fn", deadlineMs: Date.now() + 2000 });
    setTimeout(() => membership.report(report("a2"), {}), 20);
    expect((await late).agentId).toBe("a2");

    const empty = new Placer(new Membership(), new OutlierDetector(), replicaSource({ fn: 2 }).source, { recheckMs: 1 });
    const started = Date.now();
    const err = await empty.place({ tenantId: "t", functionId: "fn", deadlineMs: Date.now() + 30 }).catch((e: unknown) => e);
    expect((err as IsleError).code).toBe("unavailable");
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
