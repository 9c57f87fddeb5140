import { afterEach, describe, expect, it } from "vitest";
import { agentV1 } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { CidrList } from "@isle/config";
import { EgressPolicy } from "../egress/egress-policy.js";
import { InvocationRegistry } from "../egress/invocation-registry.js";
import { Quarantine } from "../quarantine.js";
import { AgentMetrics } from "./agent-metrics.js";
import { startMetricsServer, type MetricsServer } from "./metrics-server.js";

const valueOf = (text: string, series: string) => Number(text.split("\n").find((l) => l.startsWith(`${series} `))?.split(" ")[1] ?? NaN);
const sources = { inFlight: () => 0, workerdReady: () => 2, quarantined: () => 0 };

describe("AgentMetrics", () => {
  it("counts one invocation per trailer, by status, and cold starts from response heads", async () => {
    const metrics = new AgentMetrics(sources);
    const sent: unknown[] = [];
    const send = metrics.observe((frame) => sent.push(frame));
    send({ $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ status: 200, headers: [], coldStart: true }) });
    send({ $case: "body", value: Buffer.from("x") });
    send({ $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 0, errorCode: "", errorMessage: "" }) });
    send({ $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ status: 200, headers: [], coldStart: false }) });
    send({ $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 0, errorCode: "", errorMessage: "" }) });
    send({ $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 0, cpuMs: 0, errorCode: "concurrency_limit", errorMessage: "busy" }) });
    send({ $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 9, cpuMs: 0, errorCode: "memory_limit", errorMessage: "oom" }) });
    // A whole answer: its trailer rides in the head.
    send({ $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ status: 200, coldStart: true, trailer: { wallMs: 1 } }) });
    expect(sent).toHaveLength(8);
    const text = await metrics.scrape();
    expect(valueOf(text, 'isle_agent_invocations_total{status="ok"}')).toBe(3);
    expect(valueOf(text, 'isle_agent_invocations_total{status="concurrency_limit"}')).toBe(1);
    expect(valueOf(text, 'isle_agent_invocations_total{status="memory_limit"}')).toBe(1);
    expect(valueOf(text, "isle_agent_cold_starts_total")).toBe(2);
    expect(valueOf(text, "isle_agent_oom_kills_total")).toBe(1);
  });

  it("reads its gauges at scrape time", async () => {
    const quarantine = new Quarantine(2);
    let inFlight = 0;
    const metrics = new AgentMetrics({ inFlight: () => inFlight, workerdReady: () => 3, quarantined: () => quarantine.quarantinedCount() });
    quarantine.strike("t", "d1");
    quarantine.strike("t", "d1");
    quarantine.strike("t", "d2");
    inFlight = 4;
    const text = await metrics.scrape();
    expect(valueOf(text, "isle_agent_in_flight_invocations")).toBe(4);
    expect(valueOf(text, "isle_agent_workerd_processes_ready")).toBe(3);
    expect(valueOf(text, "isle_agent_quarantined_deployments")).toBe(1);
    expect(valueOf(text, "isle_agent_watchdog_kills_total")).toBe(0);
  });

  it("counts workerd recycles", async () => {
    const metrics = new AgentMetrics(sources);
    expect(valueOf(await metrics.scrape(), "isle_agent_workerd_recycles_total")).toBe(0);
    metrics.workerdRecycled();
    metrics.workerdRecycled();
    expect(valueOf(await metrics.scrape(), "isle_agent_workerd_recycles_total")).toBe(2);
  });

  it("counts the egress policy's refusals by code", async () => {
    const metrics = new AgentMetrics(sources);
    const registry = new InvocationRegistry(5);
    registry.begin("inv-1", { isolateId: "iso", tenantName: "acme", maxSubrequests: 1, callToken: "", traceparent: "", tracestate: "" });
    const policy = new EgressPolicy({
      registry,
      allow: new CidrList([]),
      deny: new CidrList([]),
      gatewayUrl: new URL("http://127.0.0.1:8080"),
      gatewayOrigins: ["http://127.0.0.1:8080"],
      domain: undefined,
      resolve: async () => ["127.0.0.1"],
      onRefused: (code) => metrics.egressRefused(code),
    });
    const ask = (target: string, isolateId = "iso") => policy.decide({ isolateId, invocationId: "inv-1", kind: "fetch", target });
    expect((await ask("http://loopback.example/")).allow).toBe(false);
    expect((await ask("http://loopback.example/")).allow).toBe(false);
    expect((await ask("http://x.example/", "another-isolate")).allow).toBe(false);
    const text = await metrics.scrape();
    expect(valueOf(text, 'isle_agent_egress_refusals_total{code="egress_refused"}')).toBe(1);
    expect(valueOf(text, 'isle_agent_egress_refusals_total{code="subrequest_limit"}')).toBe(1);
    expect(valueOf(text, 'isle_agent_egress_refusals_total{code="no_invocation"}')).toBe(1);
  });
});

describe("startMetricsServer", () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("serves /metrics in the Prometheus text format on loopback, and nothing else", async () => {
    const metrics = new AgentMetrics(sources);
    metrics.watchdogKill();
    server = await startMetricsServer({ host: "127.0.0.1", port: 0, metrics, logger: createLogger({ service: "t", level: "silent" }) });
    const base = `http://127.0.0.1:${server.port}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(valueOf(await res.text(), "isle_agent_watchdog_kills_total")).toBe(1);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
