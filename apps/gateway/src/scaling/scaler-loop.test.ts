import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import {
  activateDeployment,
  advisoryLockKeys,
  createDeployment,
  createTenant,
  openDatabase,
  putArtifact,
  replicaCountsChangedSince,
  updateTenantQuotas,
  upsertFunction,
  type Database,
} from "@isle/db";
import { openTestDatabase, type OpenTestDatabase } from "@isle/db/testing";
import { controlV1 } from "@isle/proto";
import { sql } from "drizzle-orm";
import { createLogger } from "@isle/telemetry";
import { Membership } from "../control/membership.js";
import { rankByRendezvous } from "./rendezvous.js";
import { ReplicaTable } from "./replica-table.js";
import { ScalerLoop } from "./scaler-loop.js";

const logger = createLogger({ service: "gateway", level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
const agentIds = ["agent-1", "agent-2", "agent-3", "agent-4"];

/** Agents that report what the test says is loaded on them, and record the commands they get. */
function cluster(clock: { now: number }) {
  const membership = new Membership(1000, () => clock.now);
  const commands: Array<{ agentId: string; command: controlV1.ControlCommand }> = [];
  const loaded = new Map<string, controlV1.LoadedFunction[]>(agentIds.map((id) => [id, []]));
  const heartbeat = () => {
    for (const agentId of agentIds) {
      membership.report(
        { agentId, address: `${agentId}:7443`, capacity: 100, inFlight: 0, draining: false, workerdReady: 2, loaded: loaded.get(agentId) ?? [], sentAtUnixMs: 0 },
        { send: (command) => commands.push({ agentId, command }) },
      );
    }
  };
  heartbeat();
  return { membership, commands, loaded, heartbeat };
}

describe("ScalerLoop", () => {
  let opened: OpenTestDatabase;
  beforeAll(async () => {
    opened = await openTestDatabase("pglite");
  });
  afterAll(() => opened?.dispose());

  /** A tenant with one function `api`, deployed and live, with these scale settings. */
  async function deployedFunction(tenantName: string, scale: { min?: number }) {
    const { db } = opened.database;
    const tenant = await createTenant(db, tenantName);
    const fn = await upsertFunction(db, tenant.id, "api", { scale });
    const code = Buffer.from("export default { fetch: () => new Response('hi') };");
    const artifactHash = createHash("sha256").update(code).digest("hex");
    await putArtifact(db, artifactHash, code);
    const deployment = await createDeployment(db, { tenantId: tenant.id, functionId: fn.id, artifactHash, entry: "index.js" });
    await activateDeployment(db, tenant.id, fn.id, deployment.id);
    return { tenant, fn, deployment, artifactHash };
  }

  it("scales a function with its load, prewarms the new replicas, goes to zero when idle and evicts it", async () => {
    const { db } = opened.database;
    const tenant = await createTenant(db, "scaled");
    const fn = await upsertFunction(db, tenant.id, "api", { scale: { targetConcurrency: 10, idleSeconds: 30 } });
    const clock = { now: 1_000_000 };
    const { membership, commands, loaded, heartbeat } = cluster(clock);
    const replicas = new ReplicaTable(db, logger);
    await replicas.start();
    await replicas.stop();
    const loop = new ScalerLoop({ database: opened.database, membership, replicas, buffered: () => new Map(), logger, now: () => clock.now, evictAfterMs: 5000 });
    const ranked = rankByRendezvous(fn.id, membership.healthy(), (m) => m.agentId).map((m) => m.agentId);
    const load = (byAgent: Record<string, number>) => {
      for (const agentId of agentIds) {
        const inFlight = byAgent[agentId];
        loaded.set(agentId, inFlight === undefined ? [] : [{ tenantId: tenant.id, functionId: fn.id, deploymentId: "dep_1", inFlight }]);
      }
      heartbeat();
    };
    const step = async () => {
      clock.now += 1000;
      heartbeat();
      await loop.tick(db);
    };

    // Activated from zero by a request, now carrying 25 in flight on its first replica.
    await replicas.activate(tenant.id, fn.id);
    load({ [ranked[0]!]: 25 });
    for (let i = 0; i < 3; i++) await step();
    expect(replicas.replicas(fn.id)).toBe(3);
    expect((await replicaCountsChangedSince(db)).counts.find((c) => c.functionId === fn.id)?.replicas).toBe(3);
    // No deployment yet: nothing to prewarm. (The KPA step is covered by @isle/scaler's scenarios.)
    expect(commands.filter((c) => c.command.command?.$case === "prewarm")).toEqual([]);

    // The load stops: after the idle time and a stable window, zero replicas.
    load({ [ranked[0]!]: 0, [ranked[1]!]: 0, [ranked[2]!]: 0 });
    for (let i = 0; i < 95 && replicas.replicas(fn.id) > 0; i++) await step();
    expect(replicas.replicas(fn.id)).toBe(0);
    // Loaded and idle on agents that are no longer its replicas: evicted there after 5 s, once each.
    expect(commands.filter((c) => c.command.command?.$case === "evict")).toEqual([]);
    for (let i = 0; i < 6; i++) await step();
    const evicts = commands.filter((c) => c.command.command?.$case === "evict");
    expect(new Set(evicts.map((c) => c.agentId))).toEqual(new Set(ranked.slice(0, 3)));
    expect(evicts.every((c) => c.command.command?.$case === "evict" && c.command.command.value.functionId === fn.id)).toBe(true);
    // An agent that keeps it loaded is told again, but not before another 5 s.
    const told = evicts.length;
    await step();
    expect(commands.filter((c) => c.command.command?.$case === "evict").length).toBeLessThanOrEqual(told + 1);
  }, 60_000);

  it("prewarms a new replica with the deployment's ids and artifact, leaving the env to the agent", async () => {
    const { db } = opened.database;
    const { tenant, fn, deployment, artifactHash } = await deployedFunction("kept-warm", { min: 2 });
    const clock = { now: 4_000_000 };
    const { membership, commands, heartbeat } = cluster(clock);
    const replicas = new ReplicaTable(db, logger);
    const loop = new ScalerLoop({ database: opened.database, membership, replicas, buffered: () => new Map(), logger, now: () => clock.now });
    await replicas.activate(tenant.id, fn.id);
    clock.now += 1000;
    heartbeat();
    await loop.tick(db);
    expect(replicas.replicas(fn.id)).toBe(2);
    const prewarms = commands.filter((c) => c.command.command?.$case === "prewarm");
    expect(prewarms.map((c) => c.agentId)).toEqual([rankByRendezvous(fn.id, membership.healthy(), (m) => m.agentId)[1]!.agentId]);
    // As the agent reads it off the wire: an empty env reference means the function's current env.
    const sent = controlV1.ControlCommand.decode(controlV1.ControlCommand.encode(prewarms[0]!.command).finish());
    expect(sent.command).toEqual({
      $case: "prewarm",
      value: { tenantId: tenant.id, functionId: fn.id, deploymentId: deployment.id, artifactHash, envRef: "" },
    });
  }, 60_000);

  it("scales a function without settings of its own by the platform's defaults", async () => {
    const { db } = opened.database;
    const tenant = await createTenant(db, "defaults");
    const fn = await upsertFunction(db, tenant.id, "plain", {});
    const clock = { now: 3_000_000 };
    const { membership, loaded, heartbeat } = cluster(clock);
    const replicas = new ReplicaTable(db, logger);
    const defaults = { targetConcurrency: 5, maxReplicas: 2 };
    const loop = new ScalerLoop({ database: opened.database, membership, replicas, buffered: () => new Map(), logger, defaults, now: () => clock.now });
    await replicas.activate(tenant.id, fn.id);
    /** Replicas after three decisions with `inFlight` running on one agent. */
    const under = async (inFlight: number) => {
      loaded.set("agent-1", [{ tenantId: tenant.id, functionId: fn.id, deploymentId: "d", inFlight }]);
      for (let i = 0; i < 3; i++) {
        clock.now += 1000;
        heartbeat();
        await loop.tick(db);
      }
      return replicas.replicas(fn.id);
    };
    // 9 in flight: 2 replicas at 5 each (at the built-in 10 it would be 1), and never above the platform's 2.
    expect(await under(9)).toBe(2);
    expect(await under(40)).toBe(2);
  }, 60_000);

  it("gives a deployed function its minimum before its first request, and prewarms those replicas", async () => {
    const { db } = opened.database;
    const { fn, deployment, artifactHash: hash } = await deployedFunction("min-first", { min: 2 });
    const clock = { now: 9_000_000 };
    const { membership, commands } = cluster(clock);
    const replicas = new ReplicaTable(db, logger);
    const loop = new ScalerLoop({ database: opened.database, membership, replicas, buffered: () => new Map(), logger, now: () => clock.now });
    await loop.tick(db);
    expect(replicas.replicas(fn.id)).toBe(2);
    const ranked = rankByRendezvous(fn.id, membership.healthy(), (m) => m.agentId).map((m) => m.agentId);
    const prewarmed = commands.filter((c) => c.command.command?.$case === "prewarm" && c.command.command.value.functionId === fn.id);
    expect(prewarmed.map((c) => c.agentId)).toEqual(ranked.slice(0, 2));
    expect(prewarmed[0]?.command.command?.value).toMatchObject({ deploymentId: deployment.id, artifactHash: hash });
  });

  it("never gives a tenant more replicas than its quota over all its functions", async () => {
    const { db } = opened.database;
    const tenant = await createTenant(db, "capped");
    await updateTenantQuotas(db, tenant.id, { maxReplicas: 3 });
    const a = await upsertFunction(db, tenant.id, "a", { scale: { targetConcurrency: 1 } });
    const b = await upsertFunction(db, tenant.id, "b", { scale: { targetConcurrency: 1 } });
    const clock = { now: 5_000_000 };
    const { membership, loaded, heartbeat } = cluster(clock);
    const replicas = new ReplicaTable(db, logger);
    const loop = new ScalerLoop({ database: opened.database, membership, replicas, buffered: () => new Map([[b.id, 4]]), logger, now: () => clock.now });
    loaded.set("agent-1", [{ tenantId: tenant.id, functionId: a.id, deploymentId: "d", inFlight: 8 }]);
    for (let i = 0; i < 5; i++) {
      clock.now += 1000;
      heartbeat();
      await loop.tick(db);
    }
    expect(replicas.replicas(a.id) + replicas.replicas(b.id)).toBe(3);
    expect(replicas.replicas(b.id)).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe("ScalerLoop leadership (postgres)", () => {
  let opened: OpenTestDatabase;
  beforeAll(async () => {
    opened = await openTestDatabase("postgres");
  });
  afterAll(() => opened?.dispose());

  it("runs on exactly one gateway, and moves to another when the leader's connection dies", async () => {
    const databases: Database[] = [await openDatabase(opened.options), await openDatabase(opened.options)];
    const loops = databases.map(
      (database) =>
        new ScalerLoop({ database, membership: new Membership(), replicas: new ReplicaTable(database.db, logger), buffered: () => new Map(), logger, tickMs: 50 }),
    );
    for (const loop of loops) loop.start();
    const leaders = async () => {
      for (let i = 0; i < 100 && !loops.some((l) => l.isLeader); i++) await new Promise((r) => setTimeout(r, 20));
      return loops.filter((l) => l.isLeader);
    };
    const first = await leaders();
    expect(first).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(loops.filter((l) => l.isLeader)).toHaveLength(1);

    // The leader's connection dies (its process was killed): the lock goes with it, and the other takes over.
    const leaderIndex = loops.indexOf(first[0]!);
    const admin = await openDatabase(opened.options);
    const lockKey = BigInt(advisoryLockKeys.scalerLeader);
    await admin.db.execute(
      sql`select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and classid = ${Number(lockKey >> 32n)} and objid = ${Number(lockKey & 0xffffffffn)}`,
    );
    void loops[leaderIndex]!.stop();
    const other = loops[1 - leaderIndex]!;
    for (let i = 0; i < 100 && !other.isLeader; i++) await new Promise((r) => setTimeout(r, 20));
    expect(other.isLeader).toBe(true);
    for (const loop of loops) await loop.stop();
    for (const database of [...databases, admin]) await database.close();
  }, 30_000);
});
