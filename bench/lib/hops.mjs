// Added latency of each hop of the Isle path, from its OpenTelemetry spans.
// The client sends each request under a trace id of its own (traceparent),
// so its own timing and the four spans Isle records (gateway server span,
// "sidecar invoke", "agent invoke", the agent's "workerd isolate call") join
// by trace id. One request at a time: latency without queueing.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";
import { percentile } from "./events.mjs";

/**
 * The environment that turns Isle's tracing on, exporting OTLP JSON to
 * `endpoint` every 200 ms (the SDK's default batch delay is 5 s).
 */
export const tracingEnv = (endpoint) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  OTEL_TRACES_SAMPLER: "always_on",
  OTEL_BSP_SCHEDULE_DELAY: "200",
});

/** One GET under a fresh trace id; resolves { traceId, ms, status }. */
function tracedGet(url, agent) {
  const traceId = randomBytes(16).toString("hex");
  const traceparent = `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
  return new Promise((done, fail) => {
    const start = performance.now();
    http
      .get(url, { agent, headers: { traceparent } }, (res) => {
        res.resume();
        res.on("end", () => done({ traceId, ms: performance.now() - start, status: res.statusCode }));
      })
      .on("error", fail);
  });
}

/** Which of Isle's spans a span is; undefined for any other (e.g. a middleware's). */
function hopOf(span) {
  if (span.service === "isle-gateway" && span.name.includes("/fn/")) return "gateway";
  if (span.name === "sidecar invoke") return "sidecar";
  if (span.name === "agent invoke") return "agent";
  if (span.name.endsWith("isolate call")) return "isolate";
  return undefined;
}

/**
 * Per invocation (times in ms): client = what the client waited; outside =
 * client − gateway span (client, kernel, node-server, the gateway's work
 * before its span starts and after it ends); gateway = gateway − sidecar
 * span; sidecar = sidecar − agent span; agent = agent − isolate call span;
 * isolate = the isolate call span (agent → workerd supervisor → isolate and
 * the answer's body back through the agent). Invocations missing a span are
 * left out and counted.
 */
export function hopLatencies(clientTimes, byTrace) {
  const rows = [];
  for (const { traceId, ms } of clientTimes) {
    const spans = {};
    for (const span of byTrace.get(traceId) ?? []) {
      const hop = hopOf(span);
      if (hop) spans[hop] = span.durationMs;
    }
    if (["gateway", "sidecar", "agent", "isolate"].some((h) => spans[h] === undefined)) continue;
    rows.push({
      client: ms,
      outside: ms - spans.gateway,
      gateway: spans.gateway - spans.sidecar,
      sidecar: spans.sidecar - spans.agent,
      agent: spans.agent - spans.isolate,
      isolate: spans.isolate,
    });
  }
  const stat = (key) => {
    const values = rows.map((r) => r[key]);
    return { p50: percentile(values, 50), p90: percentile(values, 90) };
  };
  const keys = ["client", "outside", "gateway", "sidecar", "agent", "isolate"];
  return { invocations: clientTimes.length, joined: rows.length, ...Object.fromEntries(keys.map((k) => [k, stat(k)])) };
}

/**
 * Sends `warmup` then `requests` requests to `url` one at a time, waits for
 * their spans to arrive in `receiver` (up to 15 s), and returns hopLatencies.
 */
export async function measureHops(url, receiver, { requests = 300, warmup = 50 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < warmup; i++) await tracedGet(url, agent);
    const times = [];
    for (let i = 0; i < requests; i++) {
      const t = await tracedGet(url, agent);
      if (t.status === 200) times.push(t);
    }
    const complete = () => times.every((t) => (receiver.byTrace.get(t.traceId)?.length ?? 0) >= 4);
    for (let waited = 0; waited < 15_000 && !complete(); waited += 100) await new Promise((r) => setTimeout(r, 100));
    return hopLatencies(times, receiver.byTrace);
  } finally {
    agent.destroy();
  }
}
