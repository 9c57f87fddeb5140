#!/usr/bin/env node
// `npm run bench -- invoke`: warm throughput and latency of a hello-world
// function (examples/hello) through the full Isle path, against three
// references serving the same bundle — workerd as a plain worker, workerd
// behind a minimal Worker Loader supervisor (the floor Isle builds on), and
// Deno — at 1, 32 and 256 connections; and the bare chain: Isle's topology of
// processes with none of Isle's work, in front of the loader reference (with
// and without the relay in the sidecar's place), which tells what the wiring
// alone allows on this machine. Every round runs every target at every
// concurrency in turn, so all see the same machine noise. Then a short phase
// with tracing on splits Isle's latency by hop from its spans. Prints tables;
// writes bench/results/invoke.json.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { startBareWorkerd } from "./lib/bare-workerd.mjs";
import { startLoaderWorkerd } from "./lib/loader-workerd.mjs";
import { startDeno } from "./lib/deno.mjs";
import { startBareChain } from "./lib/bare-chain.mjs";
import { freePort, startIsle } from "./lib/isle.mjs";
import { cpuMs, isleProcesses } from "./lib/cpu.mjs";
import { median } from "./lib/events.mjs";
import { measureHops, tracingEnv } from "./lib/hops.mjs";
import { ratios, report, summarise } from "./lib/invoke-report.mjs";
import { startOtlpReceiver } from "./lib/otlp-receiver.mjs";
import { processesPerReference } from "./lib/workerd-pool.mjs";
import { ensureWrk, runWrk } from "./lib/wrk.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "examples/hello/index.ts");
const env = process.env;
const seconds = Number(env.BENCH_SECONDS ?? 8);
// At one connection a few seconds hold thousands of requests already.
const singleSeconds = Number(env.BENCH_SECONDS_C1 ?? Math.max(1, Math.ceil(seconds / 2)));
const rounds = Number(env.BENCH_ROUNDS ?? 3);
const concurrencies = (env.BENCH_CONCURRENCY ?? "1,32,256").split(",").map(Number);
const hopRequests = Number(env.BENCH_HOP_REQUESTS ?? 300);
/**
 * wrk's CPU: by default the last one when there are two or more, so the load
 * generator does not migrate among the cores the servers run on (on 2 cores:
 * CPU 1; the servers still use both). BENCH_WRK_CPU=none leaves it unpinned.
 */
const wrkCpu = (() => {
  const asked = env.BENCH_WRK_CPU;
  if (asked === "none" || asked === "") return undefined;
  if (asked !== undefined) return asked;
  return availableParallelism() >= 2 ? String(availableParallelism() - 1) : undefined;
})();
const denoParallel = env.BENCH_DENO_PARALLEL === "1";

const version = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0];
  } catch {
    return undefined;
  }
};

function machine() {
  const require = createRequire(import.meta.url);
  return {
    cpus: availableParallelism(),
    model: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    workerd: version(require("workerd").default, ["--version"]),
    deno: version(join(dirname(require.resolve("deno/package.json")), "deno"), ["--version"]),
    wrk: version("sh", ["-c", "wrk -v 2>&1 || true"]),
    loadAverageBefore: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

/**
 * Every target at every concurrency, round after round; the CPU per process of
 * each target that names its processes, read around its c=32 runs.
 */
function throughput(targets) {
  for (const t of targets) runWrk(t.url, { connections: 32, seconds: 2, cpu: wrkCpu }); // isolates loaded, JITs settled
  const runs = [];
  const cpuPerRequest = {};
  for (let round = 0; round < rounds; round++) {
    // A different target goes first each round, so none always follows the same neighbour.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const connections of concurrencies) {
      for (const t of order) {
        const secs = connections === 1 ? singleSeconds : seconds;
        const measureCpu = t.processes && connections === 32;
        const before = measureCpu ? cpuMs(t.processes) : undefined;
        const run = runWrk(t.url, { connections, seconds: secs, cpu: wrkCpu });
        if (before) {
          const after = cpuMs(t.processes);
          const requests = run.rps * secs;
          (cpuPerRequest[t.key] ??= []).push(Object.fromEntries(Object.keys(after).map((k) => [k, ((after[k] - before[k]) * 1000) / requests])));
        }
        runs.push({ target: t.key, round, connections, seconds: secs, ...run });
        process.stderr.write(`round ${round + 1}/${rounds} c=${connections} ${t.key}: ${Math.round(run.rps)} req/s\n`);
      }
    }
  }
  const medians = (list) => Object.fromEntries(Object.keys(list[0]).map((k) => [k, Math.round(median(list.map((c) => c[k])))]));
  const cpuMicrosPerRequest = Object.fromEntries(Object.entries(cpuPerRequest).map(([key, list]) => [key, medians(list)]));
  return { runs, cpuMicrosPerRequest };
}

/** A second Isle with tracing on, exporting to a receiver in this process: the hop split at c=1. */
async function hops(dir) {
  const receiver = await startOtlpReceiver();
  const isle = await startIsle(join(dir, "traced"), tracingEnv(receiver.endpoint));
  try {
    return await measureHops(`${isle.baseUrl}/fn/demo/hello`, receiver, { requests: hopRequests });
  } finally {
    await isle.stop();
    await receiver.close();
  }
}

async function main() {
  ensureWrk();
  const machineBefore = machine();
  const dir = mkdtempSync(join(tmpdir(), "isle-bench-"));
  const sub = (name) => (mkdirSync(join(dir, name)), join(dir, name));
  const started = [];
  try {
    const workerdProcesses = processesPerReference();
    // Each kept in `started` as soon as it runs, so a later failure still stops it.
    const keep = (server) => (started.push(server), server);
    const refs = {
      static: keep(await startBareWorkerd({ entry, dir: sub("static"), processes: workerdProcesses })),
      loader: keep(await startLoaderWorkerd({ entry, dir: sub("loader"), processes: workerdProcesses })),
      deno: keep(await startDeno({ entry, dir: sub("deno"), port: await freePort(), parallel: denoParallel })),
    };
    const upstream = refs.loader.url.slice(0, -1);
    const chains = {
      chain: keep(await startBareChain({ dir: sub("chain"), upstream })),
      chainNoRelay: keep(await startBareChain({ dir: sub("chain-no-relay"), upstream, relay: false })),
    };
    // Tracing off for the throughput phase even when the caller's environment turns it on.
    const isle = await startIsle(sub("isle"), { OTEL_SDK_DISABLED: "true" });
    started.push({ stop: () => isle.stop() });
    const pids = isleProcesses(isle.dataDir);
    const targets = [
      ...Object.entries(refs).map(([key, r]) => ({ key, url: `${r.url}fn/demo/hello` })),
      // A chain's CPU includes the loader reference's workerd processes it sends to.
      ...Object.entries(chains).map(([key, c]) => ({ key, url: `${c.url}fn/demo/hello`, processes: { ...c.pids, workerd: refs.loader.pids } })),
      { key: "isle", url: `${isle.baseUrl}/fn/demo/hello`, processes: pids },
    ];
    const { runs, cpuMicrosPerRequest } = throughput(targets);
    // The hop phase runs alone: references and the untraced Isle stopped.
    for (const s of started.splice(0)) await s.stop();
    const hopLatencies = hopRequests > 0 ? await hops(dir) : undefined;

    const summary = summarise(runs);
    const ratio = ratios(summary);
    const c32 = ratio[32] ?? {};
    const headline = {
      loader: c32.loader,
      static: c32.static,
      deno: c32.deno,
      chain: c32.chain,
      chainToLoader: c32.chainToLoader,
      chainNoRelayToLoader: c32.chainNoRelayToLoader,
      addedP50Ms: summary[1] ? summary[1].isle.p50.median - summary[1].loader.p50.median : NaN,
      // The isolate call span has no child: what it holds beyond the bare loader round trip is the
      // agent's HTTP client and answer streaming plus Isle's supervisor's own work (roughly: the two
      // are measured in different phases, one with tracing on).
      isolateCallOverLoaderMs: summary[1] && hopLatencies ? hopLatencies.isolate.p50 - summary[1].loader.p50.median : NaN,
    };
    const settings = { seconds, singleSeconds, rounds, concurrencies, wrkCpu, workerdProcesses, denoParallel, hopRequests };
    console.log(report({ settings, summary, ratio, headline, cpuMicrosPerRequest, hops: hopLatencies }));
    const result = {
      date: new Date().toISOString(),
      machine: { ...machineBefore, loadAverageAfter: loadavg().map((l) => Number(l.toFixed(2))) },
      settings,
      targets: {
        static: "workerd, plain worker",
        loader: "workerd, Worker Loader supervisor, warm id",
        deno: "Deno.serve",
        chain: "bare chain: front → relay → agent (Node, grpc-js, undici, one message each way) → the loader reference",
        chainNoRelay: "bare chain without the relay: front → agent (mTLS) → the loader reference",
        isle: "Isle full path",
      },
      summary,
      ratio,
      headline,
      cpuMicrosPerRequest,
      isleProcesses: pids,
      hops: hopLatencies,
      runs,
    };
    mkdirSync(join(root, "bench/results"), { recursive: true });
    writeFileSync(join(root, "bench/results/invoke.json"), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const s of started) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
