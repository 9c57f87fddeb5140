#!/usr/bin/env node
// `node bench/profile.mjs [seconds]`: runs Isle with --cpu-prof on every part,
// drives hello world with wrk, and prints each part's top functions by self
// time, so the cost of a hop can be traced to code. Profiles stay in
// $BENCH_PROFILE_DIR (default a scratch directory) for Chrome DevTools.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startIsle } from "./lib/isle.mjs";
import { ensureWrk, runWrk } from "./lib/wrk.mjs";

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const profileDir = process.env.BENCH_PROFILE_DIR ?? mkdtempSync(join(tmpdir(), "isle-prof-"));

/** Self time per package or source directory of one .cpuprofile, largest first. */
function topModules(file, count = 15) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let busy = 0;
  for (const id of profile.samples) {
    const { url, functionName } = byId.get(id).callFrame;
    if (functionName === "(idle)") continue;
    busy++;
    const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const key = inPackage ?? (url.startsWith("node:") ? "node:" + url.slice(5).split("/")[0] : url ? url.split("/").slice(-3, -1).join("/") : functionName);
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, n]) => `${((100 * n) / busy).toFixed(1).padStart(5)}%  ${k}`);
}

/** Self time per function of one .cpuprofile, largest first. */
function topFunctions(file, count = 25) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const samples = new Map();
  for (const id of profile.samples) samples.set(id, (samples.get(id) ?? 0) + 1);
  const self = new Map();
  for (const [id, n] of samples) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const key = `${functionName || "(anonymous)"} ${url.split("/node_modules/").pop().split("/").slice(-2).join("/")}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + n);
  }
  const total = profile.samples.length;
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, n]) => `${((100 * n) / total).toFixed(1).padStart(5)}%  ${k}`);
}

ensureWrk();
const dir = mkdtempSync(join(tmpdir(), "isle-bench-"));
const isle = await startIsle(dir, { ISLE_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${profileDir}` });
const url = `${isle.baseUrl}/fn/demo/hello`;
runWrk(url, { connections, seconds: 2 });
const run = runWrk(url, { connections, seconds });
await isle.stop();
await new Promise((r) => setTimeout(r, 2000));
console.log(`${Math.round(run.rps)} req/s under profiling; profiles in ${profileDir}`);
for (const file of readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile"))) {
  const path = join(profileDir, file);
  const text = readFileSync(path, "utf8");
  if (text.length < 200_000) continue; // the launcher and other idle processes
  console.log(`\n## ${file}`);
  for (const line of topFunctions(path)) console.log(line);
  console.log("  -- busy time by package or directory --");
  for (const line of topModules(path)) console.log(line);
}
