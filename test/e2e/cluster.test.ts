import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IsleCluster, startIsleCluster } from "../harness/cluster.js";
import { fixture } from "../harness/fixtures.js";
import { SteadyLoad } from "../harness/load.js";

// Isle on several "machines": two gateways and three agent nodes, each in a network namespace
// with its own address, on one shared Postgres database. Needs root (it fails without, never skips).
const databaseUrl = process.env.ISLE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

describe("a cluster of gateways and agent nodes on their own addresses", () => {
  let cluster: IsleCluster;

  beforeAll(async () => {
    const started = Date.now();
    cluster = await startIsleCluster({ gateways: 2, agents: 3, databaseUrl });
    console.log(`cluster ready in ${Date.now() - started} ms`);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("serves through the second gateway a function deployed through the first", async () => {
    const [gw1, gw2] = [cluster.gateway(1), cluster.gateway(2)];
    expect(gw1.address).not.toBe(gw2.address);
    await gw1.api.createTenant("acme");
    await gw1.api.deployPublic("acme", "hello", fixture("hello"));

    const res = await fetch(`${gw2.url}/fn/acme/hello/there`);
    expect(res.status, cluster.tail()).toBe(200);
    expect(await res.json()).toMatchObject({ hello: "world", path: "/there" });
    // The call came from this machine's address on the bridge, to the gateway on its own.
    expect(cluster.gateway(2).process.tail(200)).toContain(`"url":"http://${gw2.address}:8080"`);
  });

  it("keeps the database the gateways share", async () => {
    const rows = await cluster.query("select name from tenants");
    expect(rows).toEqual([{ name: "acme" }]);
  });

  it("kills a whole agent node with kill -9, workerd included, and starts it again", async () => {
    const gateways = [cluster.gateway(1), cluster.gateway(2)];
    const node2 = cluster.node(2);
    expect(cluster.lab.pids(node2.name).length).toBeGreaterThan(2); // sidecar, agent and its workerd
    expect((await fetch(node2.metricsUrl)).status).toBe(200);
    const load = SteadyLoad.start(gateways.map((g) => `${g.url}/fn/acme/hello`), { rate: 20 });
    await new Promise((r) => setTimeout(r, 500));
    await cluster.killNode(2);
    expect(cluster.lab.pids(node2.name)).toEqual([]);
    expect(await node2.agent.exited()).toBe("SIGKILL");
    for (const gateway of gateways) await cluster.waitForAgents(gateway, 2, 10_000, "at most");
    // Once both gateways count the node out, nobody is sent to it.
    const noticed = load.now();
    await new Promise((r) => setTimeout(r, 1_000));

    cluster.restartNode(2);
    for (const gateway of gateways) await cluster.waitForAgents(gateway, 3);
    await load.stop();
    console.log(`load while node2 died: ${JSON.stringify(load.counts(0, noticed))}, after: ${JSON.stringify(load.counts(noticed))}`);
    expect(load.counts(noticed)).toEqual({ "200": load.samples.filter((s) => s.startedMs >= noticed).length });
    expect(load.samples.length).toBeGreaterThan(10);
  });

  it("kills a gateway and starts it again on the same address", async () => {
    const gw2 = cluster.gateway(2);
    await cluster.killGateway(2);
    await expect(fetch(`${gw2.url}/healthz`)).rejects.toThrow();
    // The first gateway serves on meanwhile.
    expect((await fetch(`${cluster.gateway(1).url}/fn/acme/hello`)).status).toBe(200);
    cluster.restartGateway(2);
    await cluster.waitReady();
    await cluster.waitForAgents(gw2, 3); // every agent has found it again
    expect((await fetch(`${gw2.url}/fn/acme/hello`)).status).toBe(200);
  });
});
