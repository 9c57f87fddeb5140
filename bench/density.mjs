#!/usr/bin/env node
// `npm run bench -- density`: how much memory the agent node holds per loaded function.
// Starts Isle as `npm start` does and grows the set of loaded functions through the counts in
// BENCH_DENSITY (100,1000,5000): deploys public hello worlds through the API until there are
// that many (BENCH_PARALLEL, 12, at once), invokes each new one once (warm afterwards), lets the
// node settle and reads the memory of the agent process and every workerd process under it
// (RSS and PSS, /proc). Reports MB total, MB per function (the slope of a least-squares line
// through the points, 0 functions included), and how many functions fit in 2 GB by that line.
//
// workerd never unloads an isolate: the agent recycles a process whose memory passes
// ISLE_WORKERD_RECYCLE_MB (768 MB by default, 75 % of the 1024 MB cgroup limit per process), and
// its isolates load again on their next request. To see the whole loaded set the bench runs with
// neither (BENCH_WORKERD_MEMORY_MB 0, recycling off) and fails if a workerd process restarts.
// One workerd process cannot hold more than about 1 900 hello worlds at all (V8 aborts with
// "JavaScript heap out of memory" near 5 GB RSS: the heap cage), so the bench runs one process
// per 1 000 functions of its largest count, at least 2 (BENCH_WORKERD_PROCESSES to choose).
// Writes bench/results/density.json.
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { isleProcesses } from "./lib/cpu.mjs";
import { median } from "./lib/events.mjs";
import { helloFiles, inParallel, isleApi } from "./lib/isle-api.mjs";
import { startIsle } from "./lib/isle.mjs";
import { timedGet } from "./lib/load.mjs";
import { machine } from "./lib/machine.mjs";
import { treeMemory } from "./lib/memory.mjs";
import { markdownTable, writeResult } from "./lib/report.mjs";

const counts = (process.env.BENCH_DENSITY ?? "100,1000,5000").split(",").map(Number).sort((a, b) => a - b);
const parallel = Number(process.env.BENCH_PARALLEL ?? 12);
const workerdMemoryMb = process.env.BENCH_WORKERD_MEMORY_MB ?? "0";
const workerdProcesses = process.env.BENCH_WORKERD_PROCESSES ?? String(Math.max(2, Math.ceil(counts.at(-1) / 1000)));
const budgetMb = 2048;
const defaultWorkerdLimitMb = 1024;
const defaultRecycleMb = 768; // 75 % of the limit

const dir = mkdtempSync(join(tmpdir(), "isle-bench-density-"));
const isle = await startIsle(dir, {
  ISLE_WORKERD_MEMORY_MB: workerdMemoryMb,
  ISLE_WORKERD_RECYCLE_MB: "off",
  ISLE_WORKERD_PROCESSES: workerdProcesses,
  // Every loaded function holds a replica; the default cap (100 per tenant) would refuse most.
  ISLE_TENANT_MAX_REPLICAS: "100000",
  // Nothing scales to zero (and is evicted from the agent's caches) while the run lasts.
  ISLE_SCALE_IDLE_S: "86400",
});
const api = isleApi(isle);
const before = machine();

/** Memory of the agent's tree, the median of three readings a second apart (MB). */
async function settledMemory(agentPid) {
  const readings = [];
  for (let i = 0; i < 3; i++) {
    await sleep(1000);
    readings.push(treeMemory(agentPid));
  }
  const last = readings.at(-1).processes;
  return {
    rssMb: median(readings.map((r) => r.rssMb)),
    pssMb: median(readings.map((r) => r.pssMb)),
    agentRssMb: Math.round(last.find((p) => p.pid === agentPid)?.rssMb ?? 0),
    workerdRssMb: last.filter((p) => p.name === "workerd").map((p) => Math.round(p.rssMb)),
  };
}

/** Least-squares line through points [x, y]: { slope, intercept }. */
function fitLine(points) {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const slope = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return { slope, intercept: my - slope * mx };
}

try {
  await api.tenant("bench");
  const processes = isleProcesses(isle.dataDir);
  const agentPid = processes.agent?.[0];
  const workerdPids = [...(processes.workerd ?? [])].sort();
  if (!agentPid || workerdPids.length === 0) throw new Error(`agent or workerd not found: ${JSON.stringify(processes)}`);
  const base = await settledMemory(agentPid);
  if (treeMemory(agentPid).processes.filter((p) => p.name === "workerd").length !== workerdPids.length) throw new Error("workerd processes are not under the agent");
  const points = [{ functions: 0, ...base }];
  console.log(`0 functions: RSS ${base.rssMb.toFixed(0)} MB, PSS ${base.pssMb.toFixed(0)} MB`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  let loaded = 0;
  for (const count of counts) {
    const names = Array.from({ length: count - loaded }, (_, i) => `fn-${String(loaded + i).padStart(5, "0")}`);
    const started = performance.now();
    await inParallel(names, parallel, (name) => api.deploy("bench", name, helloFiles(name)));
    const deployedS = (performance.now() - started) / 1000;
    await inParallel(names, parallel, async (name) => {
      const r = await timedGet(`${isle.baseUrl}/fn/bench/${name}/`, agent);
      if (r.status !== 200 || r.body !== name) throw new Error(`${name} answered ${r.status} ${r.body.slice(0, 300)}`);
    });
    loaded = count;
    const now = [...(isleProcesses(isle.dataDir).workerd ?? [])].sort();
    if (now.join() !== workerdPids.join()) throw new Error(`a workerd process restarted (${workerdPids} → ${now}): the loaded set is gone`);
    // The agent reports its loaded set with each heartbeat: wait for the report to catch up.
    let reported = 0;
    for (let tries = 0; tries < 30 && reported < count; tries++) {
      reported = (await api.agents()).reduce((n, a) => n + a.loadedFunctions, 0);
      if (reported < count) await sleep(500);
    }
    const memory = await settledMemory(agentPid);
    points.push({ functions: count, ...memory, agentReportsLoaded: reported, deploySeconds: deployedS });
    console.log(`${count} functions (deployed in ${deployedS.toFixed(0)} s, agent reports ${reported} loaded): RSS ${memory.rssMb.toFixed(0)} MB, PSS ${memory.pssMb.toFixed(0)} MB; RSS agent ${memory.agentRssMb} MB, workerd ${memory.workerdRssMb.join(" + ")} MB`);
  }
  agent.destroy();

  const rss = fitLine(points.map((p) => [p.functions, p.rssMb]));
  const pss = fitLine(points.map((p) => [p.functions, p.pssMb]));
  const fits = (line) => Math.floor((budgetMb - line.intercept) / line.slope);
  // Each process gets its own cgroup; isolates spread evenly over the pool by their home process.
  const workerdSum = (p) => p.workerdRssMb.reduce((a, b) => a + b, 0);
  const workerd = fitLine(points.map((p) => [p.functions, workerdSum(p)]));
  const perProcessAt = (mb) => Math.floor((mb - workerdSum(base) / workerdPids.length) / workerd.slope);
  const perProcessAtDefaultLimit = perProcessAt(defaultWorkerdLimitMb);
  const perProcessAtDefaultRecycle = perProcessAt(defaultRecycleMb);

  console.log(`\nAgent node memory (agent + ${workerdPids.length} workerd processes), hello-world functions each invoked once:\n`);
  console.log(
    markdownTable(
      ["functions loaded", "RSS MB", "PSS MB", "agent RSS MB", "workerd RSS MB", "RSS MB per function (from 0)"],
      points.map((p) => [p.functions, p.rssMb, p.pssMb, p.agentRssMb, p.workerdRssMb.join(" + "), p.functions === 0 ? "–" : ((p.rssMb - base.rssMb) / p.functions).toFixed(2)]),
    ),
  );
  console.log(`\nLeast squares: RSS ${rss.intercept.toFixed(0)} MB + ${rss.slope.toFixed(2)} MB/function → ${fits(rss)} functions in ${budgetMb} MB;`);
  console.log(`               PSS ${pss.intercept.toFixed(0)} MB + ${pss.slope.toFixed(2)} MB/function → ${fits(pss)} functions in ${budgetMb} MB.`);
  console.log(`               workerd alone ${workerd.slope.toFixed(2)} MB/function.`);
  const n = workerdPids.length;
  console.log(`With the defaults a workerd process is recycled (ISLE_WORKERD_RECYCLE_MB ${defaultRecycleMb}) at about ${perProcessAtDefaultRecycle} isolates (${perProcessAtDefaultRecycle * n} functions over ${n} processes) and would be killed by its ${defaultWorkerdLimitMb} MB limit at about ${perProcessAtDefaultLimit} (${perProcessAtDefaultLimit * n}).`);
  writeResult("density", {
    at: new Date().toISOString(),
    machine: { ...before, loadAfter: machine().loadAverage },
    settings: { counts, parallel, workerdProcesses: workerdPids.length, workerdMemoryMb, recycle: "off" },
    points,
    fit: { rss, pss, workerdRss: workerd },
    fitsIn2Gb: { rss: fits(rss), pss: fits(pss) },
    defaultLimitKillsAtPerProcess: perProcessAtDefaultLimit,
    defaultRecycleAtPerProcess: perProcessAtDefaultRecycle,
  });
} finally {
  await isle.stop();
  rmSync(dir, { recursive: true, force: true });
}
