import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ClusterGateway, type IsleCluster, startIsleCluster } from "../harness/cluster.js";
import { fixture } from "../harness/fixtures.js";
import { ConcurrentLoad, type LoadSample, SteadyLoad } from "../harness/load.js";
import { ensureTestRootfs } from "../harness/rootfs.js";

// Isle on several "machines": two gateways and three agent nodes, each in a network namespace
// with its own address, on one shared Postgres database. Needs root (it fails without, never skips).
// The tests run in order on one cluster: what DESIGN.md §8 and §12 promise of a cluster (issue 8).
const databaseUrl = process.env.ISLE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A function that answers its version, to see which deployment served. */
const versioned = (version: string) => ({ "index.ts": `export default { fetch: () => new Response(${JSON.stringify(version)}) };` });

/** Samples without an HTTP answer within their timeout (refused, reset, timed out). */
const unanswered = (samples: readonly LoadSample[]) => samples.filter((s) => s.status === "error");

describe("a cluster of two gateways and three agent nodes", () => {
  let cluster: IsleCluster;
  let gateways: ClusterGateway[];

  beforeAll(async () => {
    const started = Date.now();
    // Container functions run on the agents too (runc; root filesystems built by infra/rootfs/ensure.sh).
    const rootfsDir = ensureTestRootfs(["python3"]);
    cluster = await startIsleCluster({
      gateways: 2,
      agents: 3,
      databaseUrl,
      // Windows short enough to see a function go up and back to zero within a test.
      env: {
        gateway: {
          ISLE_SCALE_WINDOW_S: "6",
          ISLE_SCALE_IDLE_S: "5",
          ISLE_SCALE_TARGET_CONCURRENCY: "5",
          ISLE_SCALE_MAX_REPLICAS: "3",
          ISLE_SCALER_TICK_MS: "500",
        },
        agent: { ISLE_CONTAINERS: "on", ISLE_ROOTFS_DIR: rootfsDir },
      },
    });
    gateways = [cluster.gateway(1), cluster.gateway(2)];
    await cluster.gateway(1).api.createTenant("acme");
    console.log(`cluster ready in ${Date.now() - started} ms`);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  // A test that fails halfway leaves the next one a whole cluster: loads stopped, parts running, none drained.
  const loads: Array<{ stop(): Promise<unknown> }> = [];
  const track = <T extends { stop(): Promise<unknown> }>(load: T): T => {
    loads.push(load);
    return load;
  };
  afterEach(async () => {
    await Promise.all(loads.splice(0).map((load) => load.stop()));
    if (!cluster) return;
    for (const [i, node] of cluster.nodes.entries()) {
      if (node.agent.running && node.sidecar.running) continue;
      await cluster.killNode(i + 1);
      cluster.restartNode(i + 1);
    }
    for (const [i, gateway] of cluster.gateways.entries()) if (!gateway.process.running) cluster.restartGateway(i + 1);
    await cluster.waitReady();
    for (const gateway of cluster.gateways) {
      await cluster.waitForAgents(gateway, cluster.nodes.length, 30_000);
    }
    for (const [id, agent] of await cluster.agents(cluster.gateway(1))) {
      if (agent.draining) await cluster.gateway(1).api.operator(`/v1/agents/${id}/resume`, { method: "POST" });
    }
  });

  async function functionId(name: string): Promise<string> {
    const rows = await cluster.query("select f.id from functions f join tenants t on t.id = f.tenant_id where t.name = 'acme' and f.name = $1", [name]);
    if (!rows[0]) throw new Error(`no function acme/${name}`);
    return rows[0].id as string;
  }

  /** The function's replica count in function_replicas (no row: zero). */
  async function replicas(fn: string): Promise<number> {
    const rows = await cluster.query("select replicas from function_replicas where function_id = $1", [fn]);
    return rows[0] ? Number(rows[0].replicas) : 0;
  }

  /** The agents whose invocations of `fn` started at or after `since`, by their records: agent → first start. */
  async function servedBy(fn: string, since: number): Promise<Map<string, number>> {
    const rows = await cluster.query(
      "select agent_id, min(started_at) as first from invocations where function_id = $1 and started_at >= $2 and agent_id is not null group by agent_id",
      [fn, new Date(since)],
    );
    return new Map(rows.map((r) => [r.agent_id as string, (r.first as Date).getTime()]));
  }

  /** What the gateways see of the agents, and what they logged about placement, for failure messages. */
  async function diagnose(): Promise<string> {
    const lines: string[] = [];
    for (const gateway of gateways.filter((g) => g.process.running)) {
      const agents = [...(await cluster.agents(gateway)).values()].map((a) => `${a.id} healthy=${a.healthy} draining=${a.draining} inFlight=${a.inFlight} loaded=${a.loadedFunctions}`);
      lines.push(`${gateway.name}: ${agents.join("; ")}`);
      for (const l of cluster.logLines(gateway.process)) if (l.level !== "info" || l.msg === "scaled") lines.push(`  ${JSON.stringify(l).slice(0, 300)}`);
    }
    for (const node of cluster.nodes.filter((n) => n.agent.running)) {
      const metrics = await fetch(node.metricsUrl).then((r) => r.text(), (err: unknown) => String(err));
      lines.push(`${node.name}: ${metrics.split("\n").filter((l) => /^isle_agent_(invocations_total|in_flight|workerd)/.test(l)).join("; ")}`);
      for (const l of cluster.logLines(node.agent)) if (l.level !== "info" || /evict|prewarm|drain/.test(String(l.msg))) lines.push(`  ${JSON.stringify(l).slice(0, 300)}`);
    }
    return lines.join("\n");
  }

  /** Until `check` holds; past `timeoutMs` fails with `what` and the cluster's state, both read then. */
  async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: () => string): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !(await check()); await sleep(100)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}\n${await diagnose().catch(String)}\n${cluster.tail()}`);
    }
  }

  it("scales a function from one replica to three under a step of concurrency, and back to zero when idle", async () => {
    const gw1 = cluster.gateway(1);
    await gw1.api.deployPublic("acme", "slow", fixture("slow"));
    const fn = await functionId("slow");
    const load = track(ConcurrentLoad.start(gateways.map((g) => `${g.url}/fn/acme/slow?ms=200`), { concurrency: 2, timeoutMs: 15_000 }));
    // Two in flight against a target of five per replica: one replica, which stays one.
    await until(async () => (await replicas(fn)) === 1, 10_000, () => `slow at one replica`);
    await sleep(2_000);
    expect(await replicas(fn)).toBe(1);
    expect((await servedBy(fn, 0)).size).toBe(1);

    const step = Date.now();
    load.setConcurrency(30);
    let threeReplicasMs: number | undefined;
    let served = new Map<string, number>();
    await until(
      async () => {
        if (threeReplicasMs === undefined && (await replicas(fn)) === 3) threeReplicasMs = Date.now() - step;
        served = await servedBy(fn, step);
        return threeReplicasMs !== undefined && served.size === 3;
      },
      30_000,
      () => `slow on three agents (replicas reached 3 after ${threeReplicasMs} ms; served by ${[...served.keys()]})`,
    );
    const threeServingMs = Math.max(...served.values()) - step;
    // Every gateway sees the function loaded on every agent.
    for (const gateway of gateways) {
      await until(
        async () => [...(await cluster.agents(gateway)).values()].filter((a) => a.loadedFunctions > 0).length === 3,
        5_000,
        () => `slow loaded on three agents as ${gateway.name} lists them`,
      );
    }
    await load.stop();
    const stopped = Date.now();
    console.log(
      `step 2 → 30 in flight: 3 replicas after ${threeReplicasMs} ms, 3 agents serving after ${threeServingMs} ms; requests ${JSON.stringify(load.counts())}`,
    );
    expect(load.counts()).toEqual({ "200": load.samples.length });
    expect(await replicas(fn)).toBe(3); // ISLE_SCALE_MAX_REPLICAS

    // Idle: the count goes to zero, and every agent unloads the function.
    await until(async () => (await replicas(fn)) === 0, 40_000, () => `slow at zero replicas`);
    const zeroMs = Date.now() - stopped;
    for (const gateway of gateways) {
      await until(
        async () => [...(await cluster.agents(gateway)).values()].every((a) => a.loadedFunctions === 0),
        30_000,
        () => `slow evicted from every agent as ${gateway.name} lists them`,
      );
    }
    const evictedMs = Date.now() - stopped;
    const evicting = cluster.nodes.filter((node) => cluster.logLines(node.agent).some((l) => l.msg === "evicting" && l.functionId === fn));
    expect(evicting.length).toBe(3);

    // Scale from zero: the next request still answers.
    const before = Date.now();
    const res = await fetch(`${cluster.gateway(2).url}/fn/acme/slow?ms=1`);
    expect(res.status, cluster.tail()).toBe(200);
    expect(await res.text()).toBe("slept 1");
    expect(await replicas(fn)).toBe(1);
    console.log(`idle: zero replicas ${zeroMs} ms after the load stopped, unloaded everywhere after ${evictedMs} ms; from zero: 200 in ${Date.now() - before} ms`);
  });

  it("scales a container function the same way: a container on each replica under load, none once idle", async () => {
    const gw1 = cluster.gateway(1);
    await gw1.api.configure("acme", "ctr", { runtime: "container", visibility: "public" });
    const deployed = await gw1.api.deploy("acme", "ctr", {
      "handler.py": "import time\ndef handle(request):\n    time.sleep(int(request.args['ms'][0]) / 1000)\n    return 'slept'\n",
    });
    expect(deployed.status, await deployed.clone().text()).toBe(201);
    const fn = await functionId("ctr");
    const running = async () => {
      const counts = await Promise.all(
        cluster.nodes.map(async (node) => Number(/^isle_agent_containers_running (\d+)$/m.exec(await (await fetch(node.metricsUrl)).text())?.[1] ?? -1)),
      );
      return counts.filter((n) => n === 1).length;
    };
    const load = track(ConcurrentLoad.start(gateways.map((g) => `${g.url}/fn/acme/ctr?ms=200`), { concurrency: 30, timeoutMs: 15_000 }));
    await until(
      async () => (await replicas(fn)) === 3 && (await running()) === 3 && (await servedBy(fn, 0)).size === 3,
      30_000,
      () => `ctr in a container on each of three agents, each serving`,
    );
    await load.stop();
    expect(load.counts()).toEqual({ "200": load.samples.length });
    // Idle: zero replicas, and every agent stops its container.
    await until(async () => (await replicas(fn)) === 0 && (await running()) === 0, 40_000, () => `ctr's containers stopped when idle`);
  });

  it("shows a deploy and a key revocation made through one gateway on the other within a second", async () => {
    const [gw1, gw2] = gateways as [ClusterGateway, ClusterGateway];
    expect((await gw1.api.deploy("acme", "versioned", versioned("v1"))).status).toBe(201);
    const created = await gw1.api.operator("/v1/tenants/acme/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "client", scopes: ["invoke"] }),
    });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    const call = async (gateway: ClusterGateway) => {
      const res = await fetch(`${gateway.url}/fn/acme/versioned`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5_000) });
      return { status: res.status, body: await res.text() };
    };
    expect(await call(gw2)).toEqual({ status: 200, body: "v1" });

    /** Calls through gw2 until `done`; how long after `from` the first call that saw it was sent. */
    const firstSeen = async (from: number, done: (r: { status: number; body: string }) => boolean) => {
      for (;;) {
        const sent = Date.now();
        if (done(await call(gw2))) return sent - from;
        if (Date.now() - from > 10_000) throw new Error(`gw2 did not follow within 10 s`);
        await sleep(20);
      }
    };

    expect((await gw1.api.deploy("acme", "versioned", versioned("v2"))).status).toBe(201);
    const deployed = Date.now();
    const deploySeenMs = await firstSeen(deployed, (r) => r.status === 200 && r.body === "v2");
    const deployServedMs = Date.now() - deployed;
    expect(await call(gw2)).toEqual({ status: 200, body: "v2" });

    const revoked = await gw1.api.operator(`/v1/tenants/acme/keys/${id}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);
    const revokedAt = Date.now();
    expect((await call(gw1)).status).toBe(401); // the gateway that revoked it: at once
    const revokeSeenMs = await firstSeen(revokedAt, (r) => r.status === 401);
    console.log(`through gw2: v2 served to a request sent ${deploySeenMs} ms after the deploy (answered at ${deployServedMs} ms); key refused ${revokeSeenMs} ms after its revocation`);
    expect(deploySeenMs).toBeLessThanOrEqual(1_000);
    expect(revokeSeenMs).toBeLessThanOrEqual(1_000);
  });

  it("answers at least 99 % of a steady load through a kill -9 of an agent node serving it, and leaves no request hanging", async () => {
    const gw1 = cluster.gateway(1);
    await gw1.api.deployPublic("acme", "hello", fixture("hello"));
    await gw1.api.configure("acme", "hello", { scale: { min: 3 } });
    const fn = await functionId("hello");
    // Its first request activates it; from then on the scaler keeps its minimum.
    expect((await fetch(`${gw1.url}/fn/acme/hello`)).status).toBe(200);
    await until(async () => (await replicas(fn)) === 3, 10_000, () => `hello at three replicas`);

    const load = track(SteadyLoad.start(gateways.map((g) => `${g.url}/fn/acme/hello`), { rate: 50, timeoutMs: 5_000 }));
    const began = Date.now();
    await sleep(3_000);
    // The victim is one of the replicas serving the load now.
    const serving = [...(await servedBy(fn, began)).keys()].sort();
    expect(serving, serving.length === 3 ? "" : await diagnose()).toEqual(["node1", "node2", "node3"]);
    const killedMs = load.now();
    await cluster.killNode(2);
    const deadMs = load.now();
    await sleep(7_000);
    await load.stop();

    const counts = load.counts();
    const ok = counts["200"] ?? 0;
    console.log(
      `kill -9 of node2 at ${killedMs} ms under 50 req/s: ${JSON.stringify(counts)} of ${load.samples.length}; after the kill ${JSON.stringify(load.counts(killedMs))}`,
    );
    const failed = load.samples.filter((s) => s.status !== 200);
    if (failed.length > 0) console.log(`not 200: ${JSON.stringify(failed)}`);
    const lost = unanswered(load.samples);
    expect(lost, JSON.stringify(lost.slice(0, 5))).toEqual([]);
    expect(load.samples.length).toBeGreaterThanOrEqual(450);
    expect(ok / load.samples.length).toBeGreaterThanOrEqual(0.99);
    // Since the node died, the others served everything.
    expect([...(await servedBy(fn, began + deadMs)).keys()].sort()).toEqual(["node1", "node3"]);

    cluster.restartNode(2);
    for (const gateway of gateways) await cluster.waitForAgents(gateway, 3);
  });

  it("drains a node under steady load without failing a request, and sends it nothing new until resumed", async () => {
    const fn = await functionId("hello");
    const drained = cluster.node(3);
    const load = track(SteadyLoad.start(gateways.map((g) => `${g.url}/fn/acme/hello`), { rate: 50, timeoutMs: 5_000 }));
    const began = Date.now();
    // The restarted node serves again, and so does the one to drain.
    await until(async () => (await servedBy(fn, began)).size === 3, 10_000, () => `hello served by three agents again`);
    await sleep(1_000);

    const res = await cluster.gateway(1).api.operator(`/v1/agents/${drained.name}/drain`, { method: "POST" });
    expect(res.status).toBe(202);
    const drainAt = Date.now();
    const listedMs: Record<string, number> = {};
    await until(
      async () => {
        for (const gateway of gateways) {
          if (listedMs[gateway.name] === undefined && (await cluster.agents(gateway)).get(drained.name)?.draining) listedMs[gateway.name] = Date.now() - drainAt;
        }
        return Object.keys(listedMs).length === gateways.length;
      },
      5_000,
      () => `${drained.name} listed draining on every gateway`,
    );
    const seenEverywhere = Date.now();
    // Requests already running there finish; nothing new reaches it, not even to be refused.
    await sleep(1_000);
    const invocationsThen = await cluster.nodeInvocations(3);
    await sleep(3_000);
    const invocationsLater = await cluster.nodeInvocations(3);
    const inFlight = [...(await Promise.all(gateways.map((g) => cluster.agents(g))))].map((agents) => agents.get(drained.name)?.inFlight);
    await load.stop();

    console.log(
      `drain of ${drained.name}: listed draining by ${JSON.stringify(listedMs)} ms; requests ${JSON.stringify(load.counts())}; its invocations ${invocationsThen} → ${invocationsLater}`,
    );
    expect(load.counts()).toEqual({ "200": load.samples.length });
    expect(load.samples.length).toBeGreaterThanOrEqual(200);
    for (const ms of Object.values(listedMs)) expect(ms).toBeLessThanOrEqual(1_000);
    expect(invocationsLater).toBe(invocationsThen);
    expect(inFlight).toEqual([0, 0]);
    expect((await servedBy(fn, seenEverywhere + 500)).has(drained.name)).toBe(false);

    expect((await cluster.gateway(2).api.operator(`/v1/agents/${drained.name}/resume`, { method: "POST" })).status).toBe(202);
    for (const gateway of gateways) {
      await until(
        async () => (await cluster.agents(gateway)).get(drained.name)?.healthy === true,
        3_000,
        () => `${drained.name} back in service on ${gateway.name}`,
      );
    }
  });

  it("goes on scaling from the other gateway when the scaler's leader is killed", async () => {
    const leader = cluster.scalerLeader();
    expect(leader, cluster.tail()).toBeDefined();
    const leaderIndex = cluster.gateways.indexOf(leader!) + 1;
    const other = cluster.gateways.find((g) => g !== leader)!;
    await cluster.killGateway(leaderIndex);
    const killed = Date.now();
    await until(() => cluster.scalerLeader() === other, 10_000, () => `${other.name} leading the scaler`);
    const takeoverMs = Date.now() - killed;

    // A load step through the gateway left: the function scales up while the leader is down.
    const fn = await functionId("slow");
    const from = await replicas(fn);
    expect(from).toBeLessThanOrEqual(1);
    const step = Date.now();
    const load = track(ConcurrentLoad.start([`${other.url}/fn/acme/slow?ms=200`], { concurrency: 20, timeoutMs: 15_000 }));
    await until(async () => (await replicas(fn)) === 3, 30_000, () => `slow scaled to three replicas by ${other.name}`);
    const scaledMs = Date.now() - step;
    await load.stop();
    expect(leader!.process.running).toBe(false);
    const scaledThen = cluster.logLines(other.process).filter((l) => l.msg === "scaled" && l.functionId === fn && Date.parse(String(l.time)) >= killed);
    expect(scaledThen.at(-1)?.to).toBe(3);
    console.log(`${leader!.name} killed: ${other.name} leads after ${takeoverMs} ms and scaled slow ${from} → 3 in ${scaledMs} ms; requests ${JSON.stringify(load.counts())}`);
    expect(load.counts()).toEqual({ "200": load.samples.length });

    cluster.restartGateway(leaderIndex);
    await cluster.waitReady();
    await cluster.waitForAgents(leader!, 3); // every agent has found it again
    expect((await fetch(`${leader!.url}/fn/acme/hello`)).status).toBe(200);
    expect(cluster.scalerLeader()).toBe(other); // the lock stays where it is
  });
});
