#!/usr/bin/env node
// `npm run bench -- async`: async invocations on each queue — the table queue on PGlite and on
// PostgreSQL, and NATS JetStream. For each, Isle starts as `npm start` does and a public function
// answers with the time it started (Date.now() inside the isolate); its async invocations carry a
// callback URL to a receiver in this process, so every completion is seen with its start time.
//
// Measured per queue, BENCH_ROUNDS (3) rounds, medians and spread reported:
// - enqueue-to-start at low load: one invocation at a time (BENCH_SINGLE, 100): from the 202
//   reaching the client to the function's start;
// - sustained: BENCH_CONNECTIONS (32) clients enqueue for BENCH_SECONDS (8) while the dispatcher
//   runs: 202s per second (enqueue rate), invocations completed per second from the first 202 to
//   the last callback (throughput), and enqueue-to-start p50/p99 under that load.
// Everything shares one machine's clock, so times taken in different processes compare.
// Writes bench/results/async.json.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { removeJetStreamQueue } from "@isle/queue";
import { median, percentile } from "./lib/events.mjs";
import { startIsle } from "./lib/isle.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const singles = Number(process.env.BENCH_SINGLE ?? 100);
const postgresUrl = process.env.ISLE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const natsUrl = process.env.BENCH_NATS_URL ?? "nats://127.0.0.1:4222";
const now = () => performance.timeOrigin + performance.now();

/** Receives the callbacks: invocation id → { at, start } (ms since the epoch). */
async function startReceiver() {
  const seen = new Map();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const at = now();
      const id = req.headers["x-isle-invocation-id"];
      const status = req.headers["x-isle-status"];
      let start = NaN;
      try {
        start = JSON.parse(Buffer.concat(chunks).toString()).start;
      } catch {}
      if (typeof id === "string") seen.set(id, { at, start, status });
      res.writeHead(204).end();
    });
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  return { url: `http://127.0.0.1:${server.address().port}/done`, seen, close: () => new Promise((d) => server.close(d)) };
}

/** One async enqueue over a kept-alive connection: resolves with { id, acceptedAt } or throws on anything but 202. */
function enqueue(agent, base, callbackUrl) {
  return new Promise((done, fail) => {
    const req = http.request(`${base}/async/bench/clock/`, { method: "POST", agent, headers: { "x-callback-url": callbackUrl, "content-length": "0" } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const acceptedAt = now();
        if (res.statusCode !== 202) return fail(new Error(`enqueue answered ${res.statusCode}: ${Buffer.concat(chunks)}`));
        done({ id: JSON.parse(Buffer.concat(chunks).toString()).invocationId, acceptedAt });
      });
    });
    req.on("error", fail);
    req.end();
  });
}

async function waitForCallbacks(receiver, ids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (ids.some((id) => !receiver.seen.has(id))) {
    if (Date.now() > deadline) throw new Error(`${ids.filter((id) => !receiver.seen.has(id)).length} of ${ids.length} invocations never called back`);
    await sleep(5);
  }
}

const startDelays = (receiver, accepted) => accepted.map(({ id, acceptedAt }) => receiver.seen.get(id).start - acceptedAt);

async function measureQueue(queue) {
  const dir = mkdtempSync(join(tmpdir(), "isle-bench-async-"));
  const receiver = await startReceiver();
  const cleanups = [];
  try {
    const env = { ISLE_CALLBACK_ALLOW: "127.0.0.1/32", ...(await queue.setUp(cleanups)) };
    const isle = await startIsle(dir, env);
    cleanups.push(() => isle.stop());
    const call = async (method, path, body, expect) => {
      const res = await fetch(`${isle.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${isle.adminToken}`, "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    };
    await call("POST", "/v1/tenants", { name: "bench" }, 201);
    await call("PUT", "/v1/tenants/bench/functions/clock", { visibility: "public" }, 200);
    const form = new FormData();
    form.append("file", new Blob(["export default { fetch: () => Response.json({ start: Date.now() }) };\n"]), "index.js");
    const deployed = await fetch(`${isle.baseUrl}/v1/tenants/bench/functions/clock/deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${isle.adminToken}` },
      body: form,
    });
    if (deployed.status !== 201) throw new Error(`deploy: ${deployed.status} ${await deployed.text()}`);

    const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
    // Warm-up: the isolate loaded, connections open, the queue's consumer running.
    const warm = [];
    for (let i = 0; i < 20; i++) warm.push(await enqueue(agent, isle.baseUrl, receiver.url));
    await waitForCallbacks(receiver, warm.map((a) => a.id), 60_000);

    const results = [];
    for (let round = 1; round <= rounds; round++) {
      const single = [];
      for (let i = 0; i < singles; i++) {
        const accepted = await enqueue(agent, isle.baseUrl, receiver.url);
        await waitForCallbacks(receiver, [accepted.id], 30_000);
        single.push(accepted);
      }
      const singleDelays = startDelays(receiver, single);

      const loaded = [];
      const firstAt = now();
      const stopAt = firstAt + seconds * 1000;
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (now() < stopAt) loaded.push(await enqueue(agent, isle.baseUrl, receiver.url));
        }),
      );
      const enqueuedAt = now();
      await waitForCallbacks(receiver, loaded.map((a) => a.id), 300_000);
      const lastDone = Math.max(...loaded.map(({ id }) => receiver.seen.get(id).at));
      const loadedDelays = startDelays(receiver, loaded);
      const failed = loaded.filter(({ id }) => receiver.seen.get(id).status !== "200").length;
      const r = {
        round,
        singleStartMs: { p50: median(singleDelays), p99: percentile(singleDelays, 99) },
        enqueuedPerSecond: loaded.length / ((enqueuedAt - firstAt) / 1000),
        completedPerSecond: loaded.length / ((lastDone - firstAt) / 1000),
        loadedStartMs: { p50: median(loadedDelays), p99: percentile(loadedDelays, 99) },
        invocations: loaded.length,
        drainMs: lastDone - enqueuedAt,
        failed,
      };
      results.push(r);
      console.log(
        `${queue.name} round ${round}: one at a time start ${r.singleStartMs.p50.toFixed(1)}/${r.singleStartMs.p99.toFixed(1)} ms (p50/p99); ` +
          `loaded ${r.enqueuedPerSecond.toFixed(0)} enqueued/s, ${r.completedPerSecond.toFixed(0)} completed/s, ` +
          `start ${r.loadedStartMs.p50.toFixed(0)}/${r.loadedStartMs.p99.toFixed(0)} ms, ${r.invocations} invocations, drained ${r.drainMs.toFixed(0)} ms after the last enqueue, ${failed} failed`,
      );
    }
    agent.destroy();
    return results;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(`cleanup: ${err.message}`));
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const queues = [
  { name: "table queue, PGlite", setUp: async () => ({}) },
  {
    name: "table queue, PostgreSQL",
    async setUp(cleanups) {
      const name = `isle_bench_${randomBytes(6).toString("hex")}`;
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      cleanups.push(async () => {
        const c = new pg.Client({ connectionString: postgresUrl });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      });
      const url = new URL(postgresUrl);
      url.pathname = `/${name}`;
      return { DATABASE_URL: url.toString() };
    },
  },
  {
    name: "NATS JetStream",
    async setUp(cleanups) {
      const queueName = `bench-${randomBytes(4).toString("hex")}`;
      cleanups.push(() => removeJetStreamQueue(natsUrl, queueName));
      return { NATS_URL: natsUrl, ISLE_QUEUE_NAME: queueName };
    },
  },
];

const load = loadavg().map((l) => l.toFixed(2));
const only = process.env.BENCH_QUEUES?.split(",");
const summary = [];
for (const queue of queues) {
  if (only && !only.some((q) => queue.name.toLowerCase().includes(q.toLowerCase()))) continue;
  const results = await measureQueue(queue);
  const pick = (f) => results.map(f);
  const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
  summary.push({
    queue: queue.name,
    rounds: results,
    enqueuedPerSecond: spread(pick((r) => r.enqueuedPerSecond)),
    completedPerSecond: spread(pick((r) => r.completedPerSecond)),
    singleStartP50Ms: spread(pick((r) => r.singleStartMs.p50)),
    singleStartP99Ms: spread(pick((r) => r.singleStartMs.p99)),
    loadedStartP50Ms: spread(pick((r) => r.loadedStartMs.p50)),
    loadedStartP99Ms: spread(pick((r) => r.loadedStartMs.p99)),
  });
}

const fmt = ({ median: m, min, max }, digits = 0) => `${m.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
console.log(`\n| queue | enqueued/s | completed/s | start p50 ms, one at a time | start p99 ms, one at a time | start p50 ms, loaded | start p99 ms, loaded |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const s of summary) {
  console.log(
    `| ${s.queue} | ${fmt(s.enqueuedPerSecond)} | ${fmt(s.completedPerSecond)} | ${fmt(s.singleStartP50Ms, 1)} | ${fmt(s.singleStartP99Ms, 1)} | ${fmt(s.loadedStartP50Ms)} | ${fmt(s.loadedStartP99Ms)} |`,
  );
}
console.log(`load average before ${load.join(" ")}, after ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
writeFileSync(
  join(root, "bench/results/async.json"),
  `${JSON.stringify({ at: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadBefore: load }, rounds, seconds, connections, singles, summary }, null, 2)}\n`,
);
