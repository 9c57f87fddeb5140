#!/usr/bin/env node
// `npm run bench -- runaway`: how long another tenant's callers are held up
// when one request spins in `while (true) {}`. A closed-loop load on tenant
// "neighbour" runs throughout; a calm stretch gives its baseline, then a
// request to tenant "runaway"'s spinning function (timeoutMs 1000) is fired
// several times, and each event is read from the neighbour's records.
// Prints a table; writes bench/results/runaway.json.
import http from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { machineBusyMs, treeCpuMs } from "./lib/cpu.mjs";
import { calmStats, eventStats, median } from "./lib/events.mjs";
import { startIsle } from "./lib/isle.mjs";
import { closedLoop, timedGet } from "./lib/load.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const env = process.env;
const settings = {
  workerdProcesses: Number(env.BENCH_WORKERD_PROCESSES ?? 2),
  callers: Number(env.BENCH_CALLERS ?? 8),
  events: Number(env.BENCH_EVENTS ?? 5),
  timeoutMs: 1000, // the spinning function's limit, as in the e2e tests
  baselineSeconds: Number(env.BENCH_BASELINE_SECONDS ?? 10),
  // Between events. More than 10 s, after which the agent treats a process
  // as having run well (its next restart waits 100 ms again, not a doubled
  // delay), so every event meets the pool in the same state.
  pauseSeconds: Number(env.BENCH_PAUSE_SECONDS ?? 12),
  // After the runaway's answer: long enough for the killed process to restart
  // and load the neighbour's isolate again.
  settleSeconds: Number(env.BENCH_SETTLE_SECONDS ?? 3),
};

const spin = "export default { fetch() { while (true) {} } };";

async function api(isle, path, init = {}) {
  const res = await fetch(`${isle.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${isle.adminToken}`, ...init.headers } });
  if (res.status >= 300) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

async function deployPublic(isle, tenant, fn, files, limits) {
  const form = new FormData();
  for (const [path, source] of Object.entries(files)) form.append("file", new Blob([source]), path);
  await api(isle, `/v1/tenants/${tenant}/functions/${fn}/deployments`, { method: "POST", body: form });
  await api(isle, `/v1/tenants/${tenant}/functions/${fn}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ visibility: "public", ...(limits && { limits }) }),
  });
}

/**
 * Functions of two tenants. One spinning function per event: three kills
 * quarantine a deployment (ADR 0008), and each event must meet a function
 * that will run.
 */
async function deployFunctions(isle) {
  for (const name of ["neighbour", "runaway"]) {
    await api(isle, "/v1/tenants", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
  }
  await deployPublic(isle, "neighbour", "hello", { "index.ts": readFileSync(join(root, "examples/hello/index.ts"), "utf8") });
  for (let i = 1; i <= settings.events; i++) await deployPublic(isle, "runaway", `spin-${i}`, { "index.js": spin }, { timeoutMs: settings.timeoutMs });
}

/**
 * When a workerd process was replaced after `sinceEpochMs`: the agent
 * removes a process's socket before restarting it and workerd creates it
 * when it listens, so a socket newer than the event marks the replacement
 * serving. undefined if none within `timeoutMs`.
 */
async function replacedAt(sockets, sinceEpochMs, timeoutMs = 15_000) {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    for (const socket of sockets) {
      try {
        if (statSync(socket).ctimeMs > sinceEpochMs) return performance.now();
      } catch {
        // removed, not yet listening
      }
    }
    await sleep(10);
  }
  return undefined;
}

/** One runaway request, timed on the load's clock (performance.now()). */
async function fireRunaway(url, sockets) {
  const t0 = performance.now();
  const replaced = replacedAt(sockets, performance.timeOrigin + t0);
  const answer = await timedGet(url, new http.Agent());
  let code;
  try {
    code = JSON.parse(answer.body).error?.code;
  } catch {
    code = undefined;
  }
  return { t0, answeredAt: answer.end, status: answer.status, code, replacedAt: await replaced };
}

/**
 * The neighbour's load from warm-up to the last event's settling: records of
 * every request, the calm stretch, the runaway events, and how much CPU
 * other processes on the machine took meanwhile (the machine is shared).
 */
async function measure(isle) {
  const sockets = Array.from({ length: settings.workerdProcesses }, (_, i) => join(isle.dataDir, "agent", `workerd-${i}.sock`));
  const load = closedLoop(`${isle.baseUrl}/fn/neighbour/hello`, { callers: settings.callers });
  await sleep(3000); // warm: the isolate loaded in every process, JITs settled
  const [busyBefore, oursBefore, calmFrom] = [machineBusyMs(), treeCpuMs(process.pid), performance.now()];
  await sleep(settings.baselineSeconds * 1000);
  const calmTo = performance.now();
  const fired = [];
  for (let i = 1; i <= settings.events; i++) {
    await sleep(settings.pauseSeconds * 1000);
    fired.push(await fireRunaway(`${isle.baseUrl}/fn/runaway/spin-${i}`, sockets));
  }
  await sleep(settings.settleSeconds * 1000);
  const othersMs = machineBusyMs() - busyBefore - (treeCpuMs(process.pid) - oursBefore);
  // Clock ticks are 10 ms, so an idle machine can come out a hair below zero.
  const othersCpuPercent = Math.max(0, (othersMs * 100) / ((performance.now() - calmFrom) * availableParallelism()));
  return { records: await load.stop(), calmFrom, calmTo, fired, othersCpuPercent };
}

async function main() {
  const machine = { cpus: availableParallelism(), model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
  const dir = mkdtempSync(join(tmpdir(), "isle-bench-runaway-"));
  const isle = await startIsle(dir, { ISLE_WORKERD_PROCESSES: String(settings.workerdProcesses) });
  try {
    await deployFunctions(isle);
    const { records, calmFrom, calmTo, fired, othersCpuPercent } = await measure(isle);
    const baseline = calmStats(records, calmFrom, calmTo);
    // Held up: slower than anything the calm stretch saw.
    const slowMs = baseline.max;
    const events = fired.map((e) => ({
      runaway: { status: e.status, code: e.code, answeredAfterMs: e.answeredAt - e.t0, replacedAfterMs: e.replacedAt && e.replacedAt - e.t0 },
      neighbour: eventStats(records, e, { slowMs, stuckMs: settings.timeoutMs, settleMs: settings.settleSeconds * 1000 }),
    }));
    report({ date: new Date().toISOString(), machine, othersCpuPercent, settings, baseline, slowMs, events });
  } finally {
    await isle.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n) => (Number.isFinite(n) ? Math.round(n) : n);
const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const spread = (xs, f = round) => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
const columns = [
  ["runaway answer", (e) => `${e.runaway.status} ${e.runaway.code ?? ""}`],
  ["answered after ms", (e) => e.runaway.answeredAfterMs],
  ["process replaced after ms", (e) => e.runaway.replacedAfterMs ?? NaN],
  ["neighbour requests", (e) => e.neighbour.requests],
  ["success %", (e) => e.neighbour.successRate * 100, (n) => fmt(n, 2)],
  ["caught", (e) => e.neighbour.caught],
  ["stuck > timeout", (e) => e.neighbour.stuck],
  ["longest latency ms", (e) => e.neighbour.longestLatencyMs],
  ["served again after ms", (e) => e.neighbour.servedAgainMs],
  ["longest gap ms", (e) => e.neighbour.longestGapMs],
  ["req/s during stall", (e) => e.neighbour.stallPerSecond],
  ["longest after answer ms", (e) => e.neighbour.longestAfterMs],
];

function report(result) {
  const { settings, baseline, slowMs, events, othersCpuPercent } = result;
  console.log(`\nneighbour: ${settings.callers} closed-loop callers of a hello function; ${settings.workerdProcesses} workerd processes; runaway timeoutMs ${settings.timeoutMs}`);
  console.log(
    `baseline (${settings.baselineSeconds} s calm): ${round(baseline.perSecond)} req/s, p50 ${fmt(baseline.p50)} ms, p99 ${fmt(baseline.p99)} ms, ` +
      `p99.9 ${fmt(baseline.p999)} ms, max ${fmt(baseline.max)} ms, longest gap ${fmt(baseline.longestGap)} ms, success ${fmt(baseline.successRate * 100, 2)} %`,
  );
  console.log(`other processes on the machine used ${fmt(othersCpuPercent)} % of its CPU meanwhile`);
  console.log(`caught = in flight before the runaway's answer and slower than ${fmt(slowMs)} ms (the baseline max); stuck = slower than the runaway's timeout\n`);
  console.log(`| event | ${columns.map(([name]) => name).join(" | ")} |`);
  console.log(`|---|${columns.map(() => "---|").join("")}`);
  events.forEach((e, i) => {
    console.log(`| ${i + 1} | ${columns.map(([, pick, f = round]) => (typeof pick(e) === "string" ? pick(e) : f(pick(e)))).join(" | ")} |`);
  });
  const summary = columns.map(([, pick, f = round]) => (typeof pick(events[0]) === "string" ? "" : spread(events.map(pick), f)));
  console.log(`| median (min–max) | ${summary.join(" | ")} |\n`);
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/runaway.json"), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
