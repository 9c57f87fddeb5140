#!/usr/bin/env node
// `npm run bench -- containers`: container functions (runc, ADR 0027/0028) next to isolates, in one run.
//
// 1. Cold start. BENCH_COLD_FUNCTIONS (40) Python container functions (`handler.py`, handle()) and
//    as many isolate hello worlds are deployed first; then each is requested once, sequentially,
//    container and isolate alternating so both see the same machine. That first request, from the
//    client through gateway → sidecar → agent, is the cold start; its latency is timed end to end.
//    The agent's view is checked: every one of those requests must have its record's coldStart set,
//    and the agent's isle_agent_cold_starts_total must grow by 2 N. The agent's own "container
//    started" log line (artifact, /app tree, env, `runc run`, watchdog until its socket is in
//    place) says how much of a container's cold start is the container's.
// 2. Warm. One Python container function, one exec container function (`handler`, a shell script
//    per request) and an isolate hello world, loaded in turn with wrk -t1 -c32 (the invoke bench's
//    load) for BENCH_SECONDS (8) per round, BENCH_ROUNDS (3) rounds, then at one connection;
//    medians and the spread (min–max) of the rounds. CPU per request of each part from /proc, the
//    containers' from their watchdog's process tree.
//
// Needs root and runc (scripts/setup.sh installs it); the root filesystems are built by
// infra/rootfs/ensure.sh into ISLE_ROOTFS_DIR (~/.cache/isle/rootfs). Writes
// bench/results/containers.json.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, homedir, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { cpuMs, isleProcesses, treeCpuMs } from "./lib/cpu.mjs";
import { median, percentile } from "./lib/events.mjs";
import { freePort, startIsle } from "./lib/isle.mjs";
import { ensureWrk, runWrk } from "./lib/wrk.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const coldFunctions = Number(process.env.BENCH_COLD_FUNCTIONS ?? 40);
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const rootfsDir = process.env.ISLE_ROOTFS_DIR ?? join(homedir(), ".cache/isle/rootfs");

const python = `def handle(request):
    return "Hello from a container!"
`;
const exec = `#!/bin/sh
printf 'Hello from a container!'
`;
const isolate = readFileSync(join(root, "examples/hello/index.ts"), "utf8");

function preflight() {
  if (process.getuid?.() !== 0) throw new Error("bench containers: needs root (runc containers, cgroups); run it as root");
  const runc = spawnSync("runc", ["--version"], { encoding: "utf8" });
  if (runc.status !== 0) throw new Error("bench containers: runc not found on PATH; scripts/setup.sh installs it");
  execFileSync(join(root, "infra/rootfs/ensure.sh"), [rootfsDir, "python3", "exec"], { stdio: ["ignore", "ignore", "inherit"] });
  ensureWrk();
  return runc.stdout.split("\n")[0];
}

/** A stack with containers on; `lines` collects the parts' output when asked. */
async function startStack(dir, { logLevel = "warn", lines } = {}) {
  const metricsPort = await freePort();
  const isle = await startIsle(
    dir,
    { ISLE_CONTAINERS: "on", ISLE_ROOTFS_DIR: rootfsDir, ISLE_AGENT_METRICS_PORT: String(metricsPort), ISLE_LOG_LEVEL: logLevel },
    lines ? { onLine: (line) => lines.push(line) } : {},
  );
  const api = async (path, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${isle.adminToken}`);
    return fetch(`${isle.baseUrl}${path}`, { ...init, headers });
  };
  const expectStatus = async (res, status, what) => {
    if (res.status !== status) throw new Error(`${what}: ${res.status} ${await res.text()}`);
    return res;
  };
  return {
    ...isle,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    stateDir: join(isle.dataDir, "agent/containers/bundles/state"),
    async createTenant(name) {
      await expectStatus(await api("/v1/tenants", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) }), 201, `tenant ${name}`);
    },
    async deploy(tenant, fn, files, settings = {}) {
      const put = await api(`/v1/tenants/${tenant}/functions/${fn}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ visibility: "public", ...settings }),
      });
      await expectStatus(put, 200, `configure ${tenant}/${fn}`);
      const form = new FormData();
      for (const [path, text] of Object.entries(files)) form.append("file", new Blob([text]), path);
      await expectStatus(await api(`/v1/tenants/${tenant}/functions/${fn}/deployments`, { method: "POST", body: form }), 201, `deploy ${tenant}/${fn}`);
    },
    async record(tenant, id) {
      for (let i = 0; i < 200; i++) {
        const res = await api(`/v1/tenants/${tenant}/invocations/${id}`);
        if (res.status === 200) return res.json();
        await sleep(50);
      }
      throw new Error(`no record of invocation ${id}`);
    },
    async coldStartsTotal() {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^isle_agent_cold_starts_total (\S+)$/m.exec(text)?.[1] ?? NaN);
    },
  };
}

/** Containers runc still knows under the stack's state directory. */
function runcContainers(stateDir) {
  const run = spawnSync("runc", ["--root", stateDir, "list", "--format", "json"], { encoding: "utf8" });
  if (run.status !== 0) return [];
  return JSON.parse(run.stdout || "null") ?? [];
}

/** Stops the stack and makes sure it left no container behind (removing any, loudly). */
async function stopStack(stack) {
  await stack.stop();
  const left = runcContainers(stack.stateDir);
  for (const c of left) {
    console.error(`bench containers: the agent left container ${c.id} (${c.status}) behind; removing it`);
    spawnSync("runc", ["--root", stack.stateDir, "delete", "--force", c.id]);
  }
  return left.length;
}

async function timedGet(url) {
  const start = performance.now();
  try {
    const res = await fetch(url);
    const body = await res.text();
    return { ms: performance.now() - start, status: res.status, body, invocationId: res.headers.get("x-isle-invocation-id") };
  } catch (err) {
    return { ms: performance.now() - start, status: 0, body: `${err.message}: ${err.cause?.message ?? ""}`, invocationId: null };
  }
}

const stats = (xs) => ({ n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), min: Math.min(...xs), max: Math.max(...xs) });

async function coldStarts(dir) {
  const lines = [];
  const stack = await startStack(join(dir, "c"), { logLevel: "info", lines });
  try {
    await stack.createTenant("cold-c");
    await stack.createTenant("cold-i");
    const deployStarted = performance.now();
    for (let i = 0; i < coldFunctions; i++) {
      await stack.deploy("cold-c", `py${i}`, { "handler.py": python }, { runtime: "container" });
      await stack.deploy("cold-i", `hello${i}`, { "index.ts": isolate });
    }
    console.log(`deployed ${coldFunctions} container and ${coldFunctions} isolate functions in ${((performance.now() - deployStarted) / 1000).toFixed(1)} s`);
    const coldBefore = await stack.coldStartsTotal();
    const samples = { container: [], isolate: [] };
    for (let i = 0; i < coldFunctions; i++) {
      for (const [kind, tenant, fn] of [
        ["container", "cold-c", `py${i}`],
        ["isolate", "cold-i", `hello${i}`],
      ]) {
        const r = await timedGet(`${stack.baseUrl}/fn/${tenant}/${fn}`);
        if (r.status !== 200) {
          await sleep(1000);
          throw new Error(`${tenant}/${fn}: ${r.status} ${r.body}\n${JSON.stringify(await stack.record(tenant, r.invocationId).catch((e) => String(e)))}`);
        }
        samples[kind].push({ ...r, tenant });
      }
    }
    // The same functions again, now warm: what a request costs once the start is paid.
    const warmAgain = { container: [], isolate: [] };
    for (let i = 0; i < coldFunctions; i++) {
      warmAgain.container.push((await timedGet(`${stack.baseUrl}/fn/cold-c/py${i}`)).ms);
      warmAgain.isolate.push((await timedGet(`${stack.baseUrl}/fn/cold-i/hello${i}`)).ms);
    }
    const coldAfter = await stack.coldStartsTotal();
    const flagged = {};
    for (const [kind, list] of Object.entries(samples)) {
      flagged[kind] = 0;
      for (const s of list) if ((await stack.record(s.tenant, s.invocationId)).coldStart === true) flagged[kind]++;
    }
    await sleep(300); // the last log lines
    const started = lines
      .filter((l) => l.startsWith("agent") && l.includes('"container started"'))
      .map((l) => JSON.parse(l.slice(l.indexOf("{"))).ms);
    const running = runcContainers(stack.stateDir).filter((c) => c.status === "running").length;
    return {
      container: stats(samples.container.map((s) => s.ms)),
      isolate: stats(samples.isolate.map((s) => s.ms)),
      warmAgain: { container: stats(warmAgain.container), isolate: stats(warmAgain.isolate) },
      coldFlagged: flagged,
      agentColdStarts: coldAfter - coldBefore,
      containerStartedMs: stats(started),
      containersRunning: running,
      leftBehind: await stopStack(stack),
    };
  } catch (err) {
    await stopStack(stack);
    console.error(lines.slice(-40).join("\n"));
    throw err;
  }
}

/** Pids of the container's watchdog (its tree is the container's processes). */
function watchdogPids() {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "latin1").includes("isle_watchdog")) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function warm(dir) {
  const stack = await startStack(join(dir, "w"));
  try {
    await stack.createTenant("warm");
    await stack.deploy("warm", "py", { "handler.py": python }, { runtime: "container" });
    await stack.deploy("warm", "sh", { handler: exec }, { runtime: "container" });
    await stack.deploy("warm", "hello", { "index.ts": isolate });
    const targets = { python: "py", exec: "sh", isolate: "hello" };
    const url = (name) => `${stack.baseUrl}/fn/warm/${targets[name]}`;
    const watchdogOf = {};
    for (const name of Object.keys(targets)) {
      const before = new Set(watchdogPids());
      const r = await timedGet(url(name));
      if (r.status !== 200) throw new Error(`warm/${targets[name]}: ${r.status} ${r.body}`);
      if (name !== "isolate") watchdogOf[name] = watchdogPids().find((p) => !before.has(p));
      runWrk(url(name), { connections, seconds: 2 });
    }
    const processes = isleProcesses(stack.dataDir);
    const runs = Object.fromEntries(Object.keys(targets).map((n) => [n, []]));
    for (let i = 0; i < rounds; i++) {
      for (const name of Object.keys(targets)) {
        const before = { ...cpuMs(processes), container: watchdogOf[name] ? treeCpuMs(watchdogOf[name]) : 0 };
        const loaded = runWrk(url(name), { connections, seconds });
        const after = { ...cpuMs(processes), container: watchdogOf[name] ? treeCpuMs(watchdogOf[name]) : 0 };
        const requests = loaded.rps * seconds;
        const cpu = Object.fromEntries(Object.keys(after).map((k) => [k, ((after[k] - before[k]) * 1000) / requests]));
        const single = runWrk(url(name), { connections: 1, seconds: 3 });
        runs[name].push({ ...loaded, cpu, single });
        console.log(`round ${i + 1} ${name}: ${Math.round(loaded.rps)} req/s, p50 ${loaded.p50} ms, p99 ${loaded.p99} ms; c=1 p50 ${single.p50} ms`);
      }
    }
    // What the failures were: the same concurrency again, with a client that reads every answer.
    const failures = {};
    for (const [name, list] of Object.entries(runs)) {
      if (list.every((r) => r.non2xx + r.single.non2xx === 0)) continue;
      const seen = new Map();
      let sent = 0;
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (sent++ < 2000) {
            const r = await timedGet(url(name));
            if (r.status !== 200) {
              const key = `${r.status} ${r.body.replace(/inv_[0-9a-f]+/g, "inv_…").slice(0, 200)}`;
              seen.set(key, (seen.get(key) ?? 0) + 1);
            }
          }
        }),
      );
      failures[name] = Object.fromEntries(seen);
    }
    const summary = {};
    for (const [name, list] of Object.entries(runs)) {
      const rps = list.map((r) => r.rps);
      summary[name] = {
        rps: median(rps),
        rpsMin: Math.min(...rps),
        rpsMax: Math.max(...rps),
        p50: median(list.map((r) => r.p50)),
        p99: median(list.map((r) => r.p99)),
        p50Single: median(list.map((r) => r.single.p50)),
        p99Single: median(list.map((r) => r.single.p99)),
        errors: list.reduce((n, r) => n + r.non2xx + r.single.non2xx, 0),
        socketErrors: list.map((r) => r.socketErrors).filter(Boolean),
        failuresIn2000: failures[name],
        cpuMicrosPerRequest: Object.fromEntries(Object.keys(list[0].cpu).map((k) => [k, Math.round(median(list.map((r) => r.cpu[k])))])),
      };
    }
    return { summary, runs, leftBehind: await stopStack(stack) };
  } catch (err) {
    await stopStack(stack);
    throw err;
  }
}

const runcVersion = preflight();
// Short: the agent's container sockets live under the data directory, and a Unix socket's path
// must fit in 107 bytes (sun_path); a longer one fails every request with upstream_failed.
const dir = mkdtempSync(join(tmpdir(), "ibc-"));
const at = new Date().toISOString();
const host = {
  cpus: availableParallelism(),
  model: cpus()[0]?.model,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  runc: runcVersion,
};
try {
  const cold = await coldStarts(dir);
  const warmRuns = await warm(dir);
  const f = (n) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
  console.log(`\ncold start: first request to a freshly deployed function, end to end through the gateway, ${coldFunctions} functions each, alternating\n`);
  console.log("| function | p50 ms | p99 ms | min ms | max ms | same functions warm, p50 ms | coldStart in record |");
  console.log("|---|---|---|---|---|---|---|");
  for (const kind of ["container", "isolate"]) {
    const s = cold[kind];
    const w = cold.warmAgain[kind];
    console.log(`| ${kind === "container" ? "container (Python handler)" : "isolate (hello world)"} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.min)} | ${f(s.max)} | ${f(w.p50)} | ${cold.coldFlagged[kind]}/${s.n} |`);
  }
  const s = cold.containerStartedMs;
  console.log(`\ncontainer / isolate cold start, p50: ${(cold.container.p50 / cold.isolate.p50).toFixed(1)}×, p99: ${(cold.container.p99 / cold.isolate.p99).toFixed(1)}×`);
  console.log(`agent's isle_agent_cold_starts_total grew by ${cold.agentColdStarts} (expected ${2 * coldFunctions})`);
  console.log(`agent's "container started" (artifact, /app tree, env, runc run, watchdog until its socket): p50 ${f(s.p50)} ms, p99 ${f(s.p99)} ms over ${s.n}`);
  console.log(`${cold.containersRunning} containers running before the stack stopped\n`);

  console.log(`warm: wrk -t1 -c${connections} -d${seconds}s, median of ${rounds} (min–max req/s); p50/p99 at c=1 in the last columns\n`);
  console.log("| function | req/s | req/s min–max | p50 ms | p99 ms | p50 ms (c=1) | p99 ms (c=1) | errors |");
  console.log("|---|---|---|---|---|---|---|---|");
  const labels = { python: "container, Python handler", exec: "container, exec (sh)", isolate: "isolate hello world" };
  for (const [name, w] of Object.entries(warmRuns.summary)) {
    console.log(`| ${labels[name]} | ${Math.round(w.rps)} | ${Math.round(w.rpsMin)}–${Math.round(w.rpsMax)} | ${f(w.p50)} | ${f(w.p99)} | ${f(w.p50Single)} | ${f(w.p99Single)} | ${w.errors} |`);
  }
  const iso = warmRuns.summary.isolate;
  console.log(`\nthroughput ratio container/isolate: Python ${(warmRuns.summary.python.rps / iso.rps).toFixed(3)}, exec ${(warmRuns.summary.exec.rps / iso.rps).toFixed(3)}`);
  for (const [name, w] of Object.entries(warmRuns.summary)) console.log(`CPU µs per request, ${name}: ${JSON.stringify(w.cpuMicrosPerRequest)}`);
  const errs = Object.entries(warmRuns.summary).filter(([, w]) => w.socketErrors.length > 0);
  for (const [name, w] of errs) console.log(`socket errors, ${name}: ${w.socketErrors.join("; ")}`);
  for (const [name, w] of Object.entries(warmRuns.summary)) {
    if (w.failuresIn2000) console.log(`failures, ${name}, in 2000 more requests at ${connections} concurrent: ${JSON.stringify(w.failuresIn2000)}`);
  }
  console.log("");

  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(
    join(root, "bench/results/containers.json"),
    `${JSON.stringify({ at, machine: host, settings: { coldFunctions, seconds, rounds, connections }, cold, warm: warmRuns }, null, 2)}\n`,
  );
  const problems = [];
  if (cold.coldFlagged.container !== coldFunctions || cold.coldFlagged.isolate !== coldFunctions) problems.push(`coldStart flags ${JSON.stringify(cold.coldFlagged)}, expected ${coldFunctions} each`);
  if (cold.agentColdStarts !== 2 * coldFunctions) problems.push(`agent counted ${cold.agentColdStarts} cold starts, expected ${2 * coldFunctions}`);
  if (cold.leftBehind + warmRuns.leftBehind > 0) problems.push(`${cold.leftBehind + warmRuns.leftBehind} containers left behind by the agent`);
  if (problems.length > 0) {
    console.error(`bench containers: ${problems.join("; ")}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
