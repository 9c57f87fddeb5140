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
    // node2 registers with gateway 2, its only agent (agents take one control address today);
    // gateway 1 places on node1 and node3, so its clients never notice.
    const gw2 = cluster.gateway(2);
    const node2 = cluster.node(2);
    expect(cluster.lab.pids(node2.name).length).toBeGreaterThan(2); // sidecar, agent and its workerd
    expect((await fetch(node2.metricsUrl)).status).toBe(200);
    const load = SteadyLoad.start([`${cluster.gateway(1).url}/fn/acme/hello`], { rate: 20 });
    await new Promise((r) => setTimeout(r, 500));
    await cluster.killNode(2);
    expect(cluster.lab.pids(node2.name)).toEqual([]);
    expect(await node2.agent.exited()).toBe("SIGKILL");
    await cluster.waitForAgents(gw2, 0, 10_000, "at most");

    cluster.restartNode(2);
    await cluster.waitForAgents(gw2, 1);
    const res = await fetch(`${gw2.url}/fn/acme/hello`);
    expect(res.status, cluster.tail()).toBe(200);
    await load.stop();
    expect(load.counts()).toEqual({ "200": load.samples.length });
    expect(load.samples.length).toBeGreaterThan(10);
  });

  it("kills a gateway and starts it again on the same address", async () => {
    const gw2 = cluster.gateway(2);
    await cluster.killGateway(2);
    await expect(fetch(`${gw2.url}/healthz`)).rejects.toThrow();
    // The first gateway serves on meanwhile.
    expect((await fetch(`${cluster.gateway(1).url}/fn/acme/hello`)).status).toBe(200);
    cluster.restartGateway(2);
    await cluster.waitReady(); // its agent has found it again
    expect((await fetch(`${gw2.url}/fn/acme/hello`)).status).toBe(200);
  });
});
