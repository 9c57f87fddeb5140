#!/usr/bin/env node
// `npm run bench -- cluster-throughput`: hello-world throughput with 1, 2 and 3 agent nodes
// serving, on the multi-host cluster (test/harness/cluster.ts: BENCH_GATEWAYS (1) gateways and
// BENCH_AGENTS (3) agent nodes in network namespaces, one Postgres database). Needs root.
//
// One cluster, one function per node count: `hello-<n>` with scale { min n, max n }, so exactly n
// nodes serve it and the other nodes sit idle. Rounds (BENCH_ROUNDS, 3) measure every n in turn
// with `wrk -t1 -c<BENCH_CONNECTIONS (32)> -d<BENCH_SECONDS (8)>s` against the gateway (one wrk per
// gateway at once when there are several), so all node counts see the same machine noise; medians
// reported, with the ratio to one node. Each function's records say which agents served it.
// Writes bench/results/cluster-throughput.json.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { machineBusyMs } from "./lib/cpu.mjs";
import { deployPublic, fixture, machine, replicaRow, servedBy, startCluster } from "./lib/cluster.mjs";
import { median } from "./lib/events.mjs";
import { ensureWrk, parseWrk } from "./lib/wrk.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const env = process.env;
const settings = {
  gateways: Number(env.BENCH_GATEWAYS ?? 1),
  agents: Number(env.BENCH_AGENTS ?? 3),
  rounds: Number(env.BENCH_ROUNDS ?? 3),
  seconds: Number(env.BENCH_SECONDS ?? 8),
  connections: Number(env.BENCH_CONNECTIONS ?? 32),
};
const counts = Array.from({ length: settings.agents }, (_, i) => i + 1);

/** wrk against every gateway at once, `connections` spread over them; the runs' sum and worst latencies. */
async function wrkAll(urls, seconds) {
  const each = Math.max(1, Math.floor(settings.connections / urls.length));
  const outs = await Promise.all(
    urls.map(
      (url) =>
        new Promise((done, fail) => {
          const child = spawn("wrk", ["-t1", `-c${each}`, `-d${seconds}s`, "--latency", url]);
          let out = "";
          child.stdout.on("data", (d) => (out += d));
          child.on("exit", (code) => (code === 0 ? done(parseWrk(out)) : fail(new Error(`wrk ended with ${code}: ${out}`))));
        }),
    ),
  );
  return {
    rps: outs.reduce((sum, r) => sum + r.rps, 0),
    p50: Math.max(...outs.map((r) => r.p50)),
    p99: Math.max(...outs.map((r) => r.p99)),
    errors: outs.reduce((sum, r) => sum + r.non2xx, 0),
    socketErrors: outs.map((r) => r.socketErrors).filter(Boolean).join("; "),
  };
}

ensureWrk();
const machineBefore = machine();
const started = Date.now();
const cluster = await startCluster({ gateways: settings.gateways, agents: settings.agents });
console.log(`cluster of ${settings.gateways} gateway(s) and ${settings.agents} agent nodes ready in ${Date.now() - started} ms`);
const rounds = [];
const served = {};
try {
  const gw = cluster.gateway(1);
  await gw.api.createTenant("bench");
  const urlsOf = (n) => cluster.gateways.map((g) => `${g.url}/fn/bench/hello-${n}`);
  for (const n of counts) {
    await deployPublic(gw, "bench", `hello-${n}`, fixture("hello"), { min: n, max: n });
    // The first request activates it; min then holds it at n (the scaler's next ticks).
    const res = await fetch(urlsOf(n)[0]);
    if (res.status !== 200) throw new Error(`hello-${n}: ${res.status} ${await res.text()}`);
    const deadline = Date.now() + 30_000;
    while ((await replicaRow(cluster, "bench", `hello-${n}`)).replicas !== n) {
      if (Date.now() > deadline) throw new Error(`hello-${n} never reached ${n} replicas\n${cluster.tail()}`);
      await sleep(100);
    }
  }
  // Warm-up: every replica's isolate loaded, connections open, JITs settled.
  for (const n of counts) await wrkAll(urlsOf(n), 2);
  for (let round = 1; round <= settings.rounds; round++) {
    for (const n of counts) {
      const busyBefore = machineBusyMs();
      const r = await wrkAll(urlsOf(n), settings.seconds);
      const machineBusy = (machineBusyMs() - busyBefore) / (settings.seconds * 1000 * machineBefore.cpus);
      rounds.push({ round, nodes: n, ...r, machineBusy });
      console.log(`round ${round}, ${n} node(s): ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.errors} errors${r.socketErrors ? ` (${r.socketErrors})` : ""}, machine ${(100 * machineBusy).toFixed(0)} % busy`);
    }
  }
  await sleep(1500); // the last records flushed
  for (const n of counts) served[n] = Object.fromEntries([...(await servedBy(cluster, "bench", `hello-${n}`))].map(([agent, s]) => [agent, s.count]));
} finally {
  await cluster.stop();
}

const summary = counts.map((n) => {
  const mine = rounds.filter((r) => r.nodes === n);
  return {
    nodes: n,
    rps: median(mine.map((r) => r.rps)),
    rpsMin: Math.min(...mine.map((r) => r.rps)),
    rpsMax: Math.max(...mine.map((r) => r.rps)),
    p50: median(mine.map((r) => r.p50)),
    p99: median(mine.map((r) => r.p99)),
    errors: mine.reduce((sum, r) => sum + r.errors, 0),
    servedBy: served[n],
  };
});
for (const s of summary) s.ratio = s.rps / summary[0].rps;
console.log(`\nhello world, wrk -t1 -c${settings.connections} -d${settings.seconds}s per gateway, ${settings.gateways} gateway(s), median (min–max) of ${settings.rounds} rounds:\n`);
console.log("| agent nodes serving | req/s | ratio to 1 node | p50 ms | p99 ms | errors | requests per agent (all rounds) |");
console.log("|---|---|---|---|---|---|---|");
for (const s of summary) {
  const per = Object.entries(s.servedBy ?? {}).sort().map(([agent, count]) => `${agent} ${count}`).join(", ");
  console.log(`| ${s.nodes} | ${Math.round(s.rps)} (${Math.round(s.rpsMin)}–${Math.round(s.rpsMax)}) | ${s.ratio.toFixed(2)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.errors} | ${per} |`);
}
const machineAfter = machine();
console.log(`\nload average before ${machineBefore.loadAverage.join(" ")}, after ${machineAfter.loadAverage.join(" ")}`);
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, "bench/results/cluster-throughput.json"),
  `${JSON.stringify({ at: new Date().toISOString(), machine: machineBefore, loadAfter: machineAfter.loadAverage, settings, summary, rounds }, null, 2)}\n`,
);
