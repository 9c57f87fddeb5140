#!/usr/bin/env node
// `npm run bench -- scale-up`: how fast Isle reacts to a load step, on the multi-host cluster
// (test/harness/cluster.ts: BENCH_GATEWAYS (1) gateways and BENCH_AGENTS (3) agent nodes in network
// namespaces, one Postgres database). Needs root.
//
// Each run deploys a fresh `slow` fixture function (each request sleeps BENCH_SLEEP_MS, 200) with
// scale { min 1, max N, targetConcurrency T } (N = the agent count, T = BENCH_TARGET, 4), so every
// run starts from the same state: one replica, no scaler history. The gateways' stable window is
// BENCH_STABLE_WINDOW_S (20; Isle's default is 60). T closed-loop callers (one replica's worth)
// run for BENCH_PRE_SECONDS (the stable window) first; then, at t0, the callers become N × T
// (N replicas' worth). Measured from t0:
// - replicas: until the function's function_replicas row says N (its updated_at, the database's
//   clock, which is this machine's);
// - first request on each new agent: the earliest invocation record (started_at, when the gateway
//   placed it) of each agent that had served none of the function before t0.
// BENCH_RUNS (5) runs, median and min–max. Writes bench/results/scale-up.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { deployPublic, fixture, machine, replicaRow, servedBy, startCluster } from "./lib/cluster.mjs";
import { median } from "./lib/events.mjs";
import { closedLoop } from "./lib/load.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const env = process.env;
const settings = {
  gateways: Number(env.BENCH_GATEWAYS ?? 1),
  agents: Number(env.BENCH_AGENTS ?? 3),
  runs: Number(env.BENCH_RUNS ?? 5),
  target: Number(env.BENCH_TARGET ?? 4),
  sleepMs: Number(env.BENCH_SLEEP_MS ?? 200),
  // The gateways' ISLE_SCALE_WINDOW_S (Isle's default is 60), and how long one replica's worth of
  // load runs before the step: the whole stable window, so the step meets a window full of it.
  stableWindowSeconds: Number(env.BENCH_STABLE_WINDOW_S ?? 20),
  preSeconds: Number(env.BENCH_PRE_SECONDS ?? env.BENCH_STABLE_WINDOW_S ?? 20),
  // A run that has not reached N replicas serving by then is reported as such.
  timeoutSeconds: Number(env.BENCH_TIMEOUT_SECONDS ?? 30),
};

/** Closed-loop callers spread over the gateways' URLs; stop() resolves every request's record. */
function callers(urls, n) {
  const loops = urls.map((url, i) => closedLoop(url, { callers: Math.floor(n / urls.length) + (i < n % urls.length ? 1 : 0) }));
  return { stop: async () => (await Promise.all(loops.map((l) => l.stop()))).flat() };
}

async function oneRun(cluster, run) {
  const { agents: n, target } = settings;
  const fn = `slow-${run}`;
  await deployPublic(cluster.gateway(1), "bench", fn, fixture("slow"), { min: 1, max: n, targetConcurrency: target });
  const urls = cluster.gateways.map((g) => `${g.url}/fn/bench/${fn}?ms=${settings.sleepMs}`);
  const before = callers(urls, target);
  await sleep(settings.preSeconds * 1000);
  const pre = await replicaRow(cluster, "bench", fn);
  const t0 = Date.now();
  const step = callers(urls, (n - 1) * target);

  let reached;
  const deadline = t0 + settings.timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const row = await replicaRow(cluster, "bench", fn);
    if (row.replicas >= n) {
      reached = Math.round(row.updatedAtMs - t0);
      break;
    }
    await sleep(50);
  }
  // Until every replica has served, or the deadline: invocation records are written in batches,
  // so they are read again a moment after the load stops.
  while (reached !== undefined && Date.now() < deadline && (await servedBy(cluster, "bench", fn, t0)).size < n) await sleep(500);
  const records = [...(await before.stop()), ...(await step.stop())];
  await sleep(1500);
  const all = await servedBy(cluster, "bench", fn);
  const preAgents = [...all].filter(([, s]) => s.firstMs < t0).map(([agent]) => agent);
  const newAgents = [...all].filter(([agent]) => !preAgents.includes(agent)).map(([, s]) => s);
  const firstServed = newAgents.map((s) => s.firstMs - t0).sort((a, b) => a - b);
  const result = {
    run,
    replicasBefore: pre.replicas,
    agentsBefore: preAgents.length,
    replicasReachedMs: reached ?? null,
    newAgentFirstServedMs: firstServed,
    allServedMs: preAgents.length + newAgents.length >= n && firstServed.length > 0 ? Math.max(...firstServed) : null,
    requests: records.length,
    failed: records.filter((r) => r.status !== 200).length,
    servedByAgent: Object.fromEntries([...all].map(([agent, s]) => [agent, s.count])),
  };
  console.log(
    `run ${run}: ${pre.replicas} replica(s) on ${preAgents.length} agent(s) before; ${n} replicas after ${reached ?? "—"} ms; ` +
      `new agents' first requests at ${firstServed.map((ms) => Math.round(ms)).join(", ") || "—"} ms; ` +
      `${result.requests} requests, ${result.failed} failed; by agent ${JSON.stringify(result.servedByAgent)}`,
  );
  return result;
}

const machineBefore = machine();
const started = Date.now();
const cluster = await startCluster({
  gateways: settings.gateways,
  agents: settings.agents,
  env: { gateway: { ISLE_SCALE_WINDOW_S: String(settings.stableWindowSeconds) } },
});
console.log(`cluster of ${settings.gateways} gateway(s) and ${settings.agents} agent nodes ready in ${Date.now() - started} ms`);
const results = [];
try {
  await cluster.gateway(1).api.createTenant("bench");
  for (let run = 1; run <= settings.runs; run++) results.push(await oneRun(cluster, run));
} finally {
  await cluster.stop();
}

const spread = (values) => {
  const v = values.filter((x) => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
};
const summary = {
  replicasReachedMs: spread(results.map((r) => r.replicasReachedMs)),
  firstNewAgentServedMs: spread(results.map((r) => r.newAgentFirstServedMs[0] ?? null)),
  allNewAgentsServedMs: spread(results.map((r) => r.allServedMs)),
};
const fmt = (s) => (s ? `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)}), ${s.n} of ${results.length} runs` : "never");
console.log(
  `\nstep ${settings.target} → ${settings.agents * settings.target} callers on slow?ms=${settings.sleepMs} (targetConcurrency ${settings.target}, 1 → ${settings.agents} replicas) ` +
    `after ${settings.preSeconds} s at ${settings.target}, stable window ${settings.stableWindowSeconds} s, median (min–max) of ${results.length} runs:`,
);
console.log(`| from the step until | ms |`);
console.log(`|---|---|`);
console.log(`| function_replicas says ${settings.agents} | ${fmt(summary.replicasReachedMs)} |`);
console.log(`| the first new agent served a request | ${fmt(summary.firstNewAgentServedMs)} |`);
console.log(`| every new agent served a request | ${fmt(summary.allNewAgentsServedMs)} |`);
const machineAfter = machine();
console.log(`load average before ${machineBefore.loadAverage.join(" ")}, after ${machineAfter.loadAverage.join(" ")}`);
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, "bench/results/scale-up.json"),
  `${JSON.stringify({ at: new Date().toISOString(), machine: machineBefore, loadAfter: machineAfter.loadAverage, settings, summary, runs: results }, null, 2)}\n`,
);
