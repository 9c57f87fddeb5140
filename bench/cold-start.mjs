#!/usr/bin/env node
// `npm run bench -- cold-start`: the first request to a function nothing has loaded yet, end to
// end through the gateway as a client sees it. Starts Isle as `npm start` does, deploys
// BENCH_FUNCTIONS (500) public hello worlds through the API (BENCH_PARALLEL, 8, at once; not
// timed), each answering its own name, so each is its own artifact and isolate. Then, one
// request at a time over one kept-alive connection, times the first request to each function
// three times:
//
// 1. fresh: after its deploy (every invocation record must say coldStart, else the run fails);
// 2. after eviction: once the scaler took every function to zero replicas and the agent
//    reports none loaded (ISLE_SCALE_IDLE_S=1 and the shortest window, 6 s, to get there fast);
// 3. after eviction and a workerd restart: evicted again, then every workerd process of the
//    agent SIGKILLed and restarted by the agent, so nothing of any function is in memory.
//
// Eviction forgets a function on the agent (its report, artifact and env caches) but the
// isolate stays in its workerd process (WorkerdRuntime has no evict); phase 2 shows what that
// costs and how many records say coldStart, phase 3 what a fully cold load costs.
// The reference: a bare workerd whose front worker loads a hello world through the Worker
// Loader under a fresh id per request (one process, lib/loader-workerd.mjs), timed the same way.
// Prints a markdown table; writes bench/results/cold-start.json.
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { isleProcesses } from "./lib/cpu.mjs";
import { latencySummary } from "./lib/events.mjs";
import { helloFiles, inParallel, isleApi } from "./lib/isle-api.mjs";
import { startIsle } from "./lib/isle.mjs";
import { timedGet } from "./lib/load.mjs";
import { startColdLoaderWorkerd } from "./lib/loader-workerd.mjs";
import { machine } from "./lib/machine.mjs";
import { markdownTable, writeResult } from "./lib/report.mjs";

const count = Number(process.env.BENCH_FUNCTIONS ?? 500);
const parallel = Number(process.env.BENCH_PARALLEL ?? 8);
const names = Array.from({ length: count }, (_, i) => `cold-${String(i).padStart(5, "0")}`);

const dir = mkdtempSync(join(tmpdir(), "isle-bench-cold-"));
const isle = await startIsle(dir, {
  // Scale to zero (and so eviction) within seconds of the last request instead of minutes.
  ISLE_SCALE_IDLE_S: "1",
  ISLE_SCALE_WINDOW_S: "6",
  // Every function holds a replica while it is loaded; the default cap (100 per tenant) would refuse most.
  ISLE_TENANT_MAX_REPLICAS: "100000",
});
const api = isleApi(isle);
const before = machine();

/** One request to each of `names` at `urlOf(name)`, one at a time; fails on any answer but 200 with the name. */
async function timeEach(phase, urlOf) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = [];
  for (const name of names) {
    const r = await timedGet(urlOf(name), agent);
    if (r.status !== 200 || r.body !== name) throw new Error(`${phase}: ${name} answered ${r.status} ${r.body.slice(0, 300)}`);
    samples.push({ ms: r.end - r.start, id: r.headers["x-isle-invocation-id"] });
  }
  agent.destroy();
  return samples;
}

/** The first request to each function and how many of their records say coldStart. */
async function firstRequests(phase) {
  const samples = await timeEach(phase, (name) => `${isle.baseUrl}/fn/bench/${name}/`);
  // Records are written in batches: wait until every one is listed.
  for (let tries = 0; ; tries++) {
    const records = await api.invocations("bench");
    const missing = samples.filter((s) => !records.has(s.id)).length;
    if (missing === 0) return { ...latencySummary(samples.map((s) => s.ms)), coldStarts: samples.filter((s) => records.get(s.id).coldStart).length };
    if (tries > 100) throw new Error(`${phase}: ${missing} invocation records never appeared`);
    await sleep(200);
  }
}

/** Waits until the agent reports no function loaded; resolves with how long that took (ms). */
async function untilEvicted(timeoutMs = 120_000 + count * 100) {
  const started = performance.now();
  for (;;) {
    const loaded = (await api.agents()).reduce((n, a) => n + a.loadedFunctions, 0);
    if (loaded === 0) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${loaded} functions still loaded after ${timeoutMs} ms`);
    await sleep(500);
  }
}

/** SIGKILLs the agent's workerd processes and waits until the agent has restarted as many. */
async function restartWorkerd() {
  const old = isleProcesses(isle.dataDir).workerd ?? [];
  if (old.length === 0) throw new Error("no workerd process found");
  for (const pid of old) process.kill(pid, "SIGKILL");
  for (let tries = 0; ; tries++) {
    const pids = isleProcesses(isle.dataDir).workerd ?? [];
    const ready = (await api.agents()).reduce((n, a) => n + a.workerdReady, 0);
    if (pids.length === old.length && !pids.some((p) => old.includes(p)) && ready === old.length) return;
    if (tries > 300) throw new Error(`workerd did not come back: ${pids.length} processes, ${ready} ready`);
    await sleep(100);
  }
}

try {
  await api.tenant("bench");
  const deployStarted = performance.now();
  await inParallel(names, parallel, (name) => api.deploy("bench", name, helloFiles(name)));
  const deploySeconds = (performance.now() - deployStarted) / 1000;
  console.log(`deployed ${count} functions in ${deploySeconds.toFixed(1)} s (${parallel} at once)`);
  // The path itself warm (gateway JIT, connections to the agent): one more function, many requests, not counted.
  await api.deploy("bench", "warm-up", helloFiles("warm-up"));
  for (let i = 0; i < 200; i++) await fetch(`${isle.baseUrl}/fn/bench/warm-up/`).then((r) => r.text());

  const fresh = await firstRequests("fresh");
  console.log(`fresh: p50 ${fresh.p50.toFixed(1)} ms, ${fresh.coldStarts}/${count} cold`);
  if (fresh.coldStarts !== count) throw new Error(`only ${fresh.coldStarts} of ${count} first requests were recorded as cold starts`);

  const evictedAfterMs = await untilEvicted();
  console.log(`all evicted ${(evictedAfterMs / 1000).toFixed(1)} s after the last request`);
  const evicted = await firstRequests("after eviction");
  console.log(`after eviction: p50 ${evicted.p50.toFixed(1)} ms, ${evicted.coldStarts}/${count} cold`);

  await untilEvicted();
  await restartWorkerd();
  const restarted = await firstRequests("after eviction and workerd restart");
  console.log(`after eviction and workerd restart: p50 ${restarted.p50.toFixed(1)} ms, ${restarted.coldStarts}/${count} cold`);

  // The reference, on the same machine in the same run: Isle is idle now.
  const bare = await startColdLoaderWorkerd({ dir });
  let reference;
  try {
    for (let i = 0; i < 200; i++) await fetch(`${bare.url}?id=warm-up`).then((r) => r.text());
    reference = { ...latencySummary((await timeEach("bare workerd loader", (name) => `${bare.url}?id=${name}`)).map((s) => s.ms)) };
  } finally {
    bare.stop();
  }
  console.log(`bare workerd Worker Loader, fresh id: p50 ${reference.p50.toFixed(1)} ms`);

  const phases = { fresh, evicted, restarted, reference };
  const labels = {
    fresh: "first request after deploy",
    evicted: "after eviction (scale to zero)",
    restarted: "after eviction + workerd restart",
    reference: "reference: bare workerd Worker Loader, fresh id",
  };
  console.log(`\n${count} hello-world functions, first request each, client-side end to end (ms):\n`);
  console.log(
    markdownTable(
      ["first request", "p50 ms", "p99 ms", "max ms", "records with coldStart"],
      Object.entries(phases).map(([k, s]) => [labels[k], s.p50, s.p99, s.max, s.coldStarts === undefined ? "–" : `${s.coldStarts}/${s.n}`]),
    ),
  );
  writeResult("cold-start", { at: new Date().toISOString(), machine: { ...before, loadAfter: machine().loadAverage }, settings: { count, parallel }, deploySeconds, evictedAfterMs, phases });
} finally {
  await isle.stop();
  rmSync(dir, { recursive: true, force: true });
}
