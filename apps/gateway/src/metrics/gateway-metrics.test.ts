import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "./gateway-metrics.js";

const sources = { healthyAgents: () => 2, replicas: () => 3 };
const lines = async (metrics: GatewayMetrics, name: string) =>
  (await metrics.scrape()).split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

describe("GatewayMetrics", () => {
  it("counts invocations by tenant, function, status class and error code", async () => {
    const metrics = new GatewayMetrics(sources);
    metrics.invocation("acme", "hello", 200, undefined, true, 12);
    metrics.invocation("acme", "hello", 201, undefined, false, 8);
    metrics.invocation("acme", "hello", 504, "timeout", false, 1000);
    expect(await lines(metrics, "isle_gateway_invocations_total")).toEqual([
      'isle_gateway_invocations_total{tenant="acme",function="hello",status="2xx",error="none"} 2',
      'isle_gateway_invocations_total{tenant="acme",function="hello",status="5xx",error="timeout"} 1',
    ]);
    expect(await lines(metrics, "isle_gateway_cold_starts_total")).toEqual(['isle_gateway_cold_starts_total{tenant="acme",function="hello"} 1']);
    const text = await metrics.scrape();
    expect(text).toContain('isle_gateway_invocation_duration_seconds_bucket{le="0.01",tenant="acme",function="hello"} 1');
    expect(text).toContain('isle_gateway_invocation_duration_seconds_bucket{le="1",tenant="acme",function="hello"} 3');
    expect(text).toContain('isle_gateway_invocation_duration_seconds_sum{tenant="acme",function="hello"} 1.02');
  });

  it("reads its gauges at scrape time and reports a queue depth of 0", async () => {
    let healthy = 1;
    const metrics = new GatewayMetrics({ healthyAgents: () => healthy, replicas: () => 4 });
    healthy = 5;
    expect(await lines(metrics, "isle_gateway_healthy_agents")).toEqual(["isle_gateway_healthy_agents 5"]);
    expect(await lines(metrics, "isle_gateway_replicas")).toEqual(["isle_gateway_replicas 4"]);
    expect(await lines(metrics, "isle_gateway_queue_depth")).toEqual(["isle_gateway_queue_depth 0"]);
  });

  it("folds functions past the cap into other under their tenant, and tenants past theirs into other", async () => {
    const metrics = new GatewayMetrics(sources, { maxTenants: 2, maxFunctions: 3 });
    for (let i = 0; i < 50; i++) metrics.invocation("acme", `fn-${i}`, 200, undefined, false, 1);
    for (let i = 0; i < 50; i++) metrics.invocation(`tenant-${i}`, "hello", 200, undefined, false, 1);
    const series = await lines(metrics, "isle_gateway_invocations_total");
    expect(series).toEqual([
      'isle_gateway_invocations_total{tenant="acme",function="fn-0",status="2xx",error="none"} 1',
      'isle_gateway_invocations_total{tenant="acme",function="fn-1",status="2xx",error="none"} 1',
      'isle_gateway_invocations_total{tenant="acme",function="fn-2",status="2xx",error="none"} 1',
      'isle_gateway_invocations_total{tenant="acme",function="_other",status="2xx",error="none"} 47',
      // tenant-0 is the second tenant: kept, but the function cap is spent.
      'isle_gateway_invocations_total{tenant="tenant-0",function="_other",status="2xx",error="none"} 1',
      'isle_gateway_invocations_total{tenant="_other",function="_other",status="2xx",error="none"} 49',
    ]);
    // Nothing is lost by folding.
    const total = series.reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
    expect(total).toBe(100);
  });

  it("counts rate-limit rejections by tenant and limit, capped like invocations", async () => {
    const metrics = new GatewayMetrics(sources, { maxTenants: 1 });
    metrics.rateLimitRejected("acme", "tenant");
    metrics.rateLimitRejected("acme", "key");
    metrics.rateLimitRejected("globex", "tenant");
    expect(await lines(metrics, "isle_gateway_rate_limited_total")).toEqual([
      'isle_gateway_rate_limited_total{tenant="acme",limit="tenant"} 1',
      'isle_gateway_rate_limited_total{tenant="acme",limit="key"} 1',
      'isle_gateway_rate_limited_total{tenant="_other",limit="tenant"} 1',
    ]);
  });
});
