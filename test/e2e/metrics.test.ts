import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

/** One series' value in a Prometheus scrape; 0 when the series is absent. */
function valueOf(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

// Both parts' /metrics move with real invocations: the gateway's by tenant and
// function, the agent's by status, and the watchdog's kill of a spinning function.
describe("Prometheus metrics", () => {
  let stack: Stack;
  const gatewayMetrics = async () => {
    const res = await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const agentMetrics = async () => {
    const res = await fetch(stack.agentMetricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL, workerdProcesses: 2 });
    await stack.createTenant("acme");
    await stack.deployPublic("acme", "hello", fixture("hello"));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("refuses the gateway's scrape without the operator token", async () => {
    expect((await fetch(`${stack.baseUrl}/metrics`)).status).toBe(401);
  });

  it("counts an invoke, its cold start and its duration in the gateway and the agent", async () => {
    const ok = 'isle_gateway_invocations_total{tenant="acme",function="hello",status="2xx",error="none"}';
    const res = await fetch(`${stack.baseUrl}/fn/acme/hello`);
    expect(res.status).toBe(200);
    await res.text();
    await fetch(`${stack.baseUrl}/fn/acme/hello`).then((r) => r.text());

    // The gateway records when the response has ended; give it a moment.
    await waitUntil(async () => valueOf(await gatewayMetrics(), ok) === 2, 5_000, "gateway counts two invocations");
    const gateway = await gatewayMetrics();
    expect(valueOf(gateway, 'isle_gateway_cold_starts_total{tenant="acme",function="hello"}')).toBe(1);
    expect(valueOf(gateway, 'isle_gateway_invocation_duration_seconds_count{tenant="acme",function="hello"}')).toBe(2);
    expect(valueOf(gateway, "isle_gateway_healthy_agents")).toBe(1);
    expect(valueOf(gateway, "isle_gateway_replicas")).toBe(1);

    const agent = await agentMetrics();
    expect(valueOf(agent, 'isle_agent_invocations_total{status="ok"}')).toBe(2);
    expect(valueOf(agent, "isle_agent_cold_starts_total")).toBe(1);
    expect(valueOf(agent, "isle_agent_workerd_processes_ready")).toBe(2);
    expect(valueOf(agent, "isle_agent_in_flight_invocations")).toBe(0);
  });

  it("counts the watchdog's kill of a spinning function and its cpu_limit", async () => {
    await stack.deployPublic("acme", "spin", { "index.js": "export default { fetch() { while (true) {} } };" });
    await stack.configure("acme", "spin", { limits: { timeoutMs: 1000 } });
    const res = await fetch(`${stack.baseUrl}/fn/acme/spin`);
    expect(res.status).toBe(504);
    await res.text();

    await waitUntil(async () => valueOf(await agentMetrics(), "isle_agent_watchdog_kills_total") === 1, 10_000, "agent counts the kill");
    const agent = await agentMetrics();
    expect(valueOf(agent, 'isle_agent_invocations_total{status="cpu_limit"}')).toBe(1);
    const gateway = await gatewayMetrics();
    expect(valueOf(gateway, 'isle_gateway_invocations_total{tenant="acme",function="spin",status="5xx",error="cpu_limit"}')).toBe(1);
  });
});
