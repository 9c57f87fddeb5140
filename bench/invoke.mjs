#!/usr/bin/env node
// `npm run bench`: hello world through the full Isle path (gateway → sidecar →
// agent → workerd isolate) against the same function in a bare workerd
// process, measured in one run, alternating, so the ratio survives a noisy
// machine. Prints a table; writes bench/results/latest.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startBareWorkerd } from "./lib/bare-workerd.mjs";
import { freePort, startIsle } from "./lib/isle.mjs";
import { cpuMs, isleProcesses } from "./lib/cpu.mjs";
import { ensureWrk, runWrk } from "./lib/wrk.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  ensureWrk();
  const dir = mkdtempSync(join(tmpdir(), "isle-bench-"));
  const bare = await startBareWorkerd({ entry: join(root, "examples/hello/index.ts"), port: await freePort(), dir });
  const isle = await startIsle(dir);
  const isleUrl = `${isle.baseUrl}/fn/demo/hello`;
  try {
    // Warm both: isolates loaded, JITs settled.
    runWrk(bare.url, { connections, seconds: 2 });
    runWrk(isleUrl, { connections, seconds: 2 });
    const runs = { bare: [], isle: [] };
    const processes = isleProcesses(isle.dataDir);
    const cpuPerRequest = [];
    for (let i = 0; i < rounds; i++) {
      runs.bare.push(runWrk(bare.url, { connections, seconds }));
      const before = cpuMs(processes);
      const loaded = runWrk(isleUrl, { connections, seconds });
      const after = cpuMs(processes);
      const requests = loaded.rps * seconds;
      cpuPerRequest.push(Object.fromEntries(Object.keys(after).map((k) => [k, ((after[k] - before[k]) * 1000) / requests])));
      runs.isle.push(loaded);
      // Latency without queueing: one connection.
      runs.bare.push({ ...runWrk(bare.url, { connections: 1, seconds: 3 }), single: true });
      runs.isle.push({ ...runWrk(isleUrl, { connections: 1, seconds: 3 }), single: true });
    }
    const summary = {};
    for (const [name, list] of Object.entries(runs)) {
      const loaded = list.filter((r) => !r.single);
      const single = list.filter((r) => r.single);
      summary[name] = {
        rps: median(loaded.map((r) => r.rps)),
        p50: median(loaded.map((r) => r.p50)),
        p99: median(loaded.map((r) => r.p99)),
        p50Single: median(single.map((r) => r.p50)),
        p99Single: median(single.map((r) => r.p99)),
        errors: loaded.reduce((n, r) => n + r.non2xx, 0) + single.reduce((n, r) => n + r.non2xx, 0),
      };
    }
    const ratio = summary.isle.rps / summary.bare.rps;
    const cpuMicrosPerRequest = Object.fromEntries(
      Object.keys(cpuPerRequest[0] ?? {}).map((k) => [k, Math.round(median(cpuPerRequest.map((c) => c[k])))]),
    );
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
      settings: { seconds, rounds, connections },
      summary,
      ratio,
      cpuMicrosPerRequest,
    };
    const fmt = (n) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
    console.log(`\nhello world, wrk -t1 -c${connections} -d${seconds}s, median of ${rounds}; p50/p99 at c=1 in the last columns\n`);
    console.log("| path | req/s | p50 ms | p99 ms | p50 ms (c=1) | p99 ms (c=1) | errors |");
    console.log("|---|---|---|---|---|---|---|");
    for (const [name, s] of Object.entries(summary)) {
      const label = name === "bare" ? "bare workerd" : "Isle full path";
      console.log(`| ${label} | ${Math.round(s.rps)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.p50Single)} | ${fmt(s.p99Single)} | ${s.errors} |`);
    }
    console.log(`\nIsle / bare workerd throughput ratio: ${ratio.toFixed(3)}`);
    console.log(`CPU per request through Isle (µs, median): ${JSON.stringify(cpuMicrosPerRequest)}\n`);
    mkdirSync(join(root, "bench/results"), { recursive: true });
    writeFileSync(join(root, "bench/results/latest.json"), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await isle.stop();
    bare.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
