#!/usr/bin/env node
// `npm run bench -- git-push`: the time from `git push` to the pushed version answering.
// Starts Isle as `npm start` does, then pushes BENCH_PUSHES (10) commits to main with the real
// git client, each changing what the function answers, and polls the function until it answers
// with the new text. Reports p50 and the spread of that time and of the push alone (build,
// activation and the remote: output included); writes bench/results/git-push.json.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { median } from "./lib/events.mjs";
import { startIsle } from "./lib/isle.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pushes = Number(process.env.BENCH_PUSHES ?? 10);

const dir = mkdtempSync(join(tmpdir(), "isle-bench-git-"));
const isle = await startIsle(dir);
const load = loadavg().map((l) => l.toFixed(2));
try {
  const api = async (path, body) => {
    const res = await fetch(`${isle.baseUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${isle.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  await api("/v1/tenants", { name: "bench" });
  const { key } = await api("/v1/tenants/bench/keys", { name: "git", scopes: ["deploy"] });
  const repo = join(dir, "repo");
  mkdirSync(join(dir, "home"));
  const env = {
    PATH: process.env.PATH,
    HOME: join(dir, "home"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "bench",
    GIT_AUTHOR_EMAIL: "bench@example.com",
    GIT_COMMITTER_NAME: "bench",
    GIT_COMMITTER_EMAIL: "bench@example.com",
  };
  const git = (...args) => {
    const run = spawnSync("git", args, { cwd: repo, env, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr}`);
  };
  spawnSync("git", ["init", "-q", "-b", "main", repo], { env });
  const remote = `http://git:${key}@${new URL(isle.baseUrl).host}/git/bench/hello.git`;
  const url = `${isle.baseUrl}/fn/bench/hello/`;

  const samples = [];
  // One push first, untimed: it creates the function and the repository, and warms the isolate pool.
  for (let i = 0; i <= pushes; i++) {
    writeFileSync(join(repo, "isle.json"), JSON.stringify({ visibility: "public" }));
    writeFileSync(join(repo, "index.ts"), `export default { fetch: () => new Response("v${i}") };\n`);
    git("add", "-A");
    git("commit", "-qm", `v${i}`);
    const started = performance.now();
    const push = spawn("git", ["push", "-q", remote, "main"], { cwd: repo, env, stdio: "ignore" });
    const pushed = new Promise((done) => push.on("exit", (code) => done({ code, ms: performance.now() - started })));
    let answeredMs;
    while (answeredMs === undefined) {
      const text = await fetch(url).then((r) => (r.ok ? r.text() : ""), () => "");
      if (text === `v${i}`) answeredMs = performance.now() - started;
      else await sleep(5);
    }
    const { code, ms } = await pushed;
    if (code !== 0) throw new Error(`push ${i} failed`);
    if (i > 0) samples.push({ answeredMs, pushMs: ms });
    console.log(`push ${i}: answering after ${answeredMs.toFixed(0)} ms, git push took ${ms.toFixed(0)} ms${i === 0 ? " (warm-up)" : ""}`);
  }
  const answered = samples.map((s) => s.answeredMs).sort((a, b) => a - b);
  const pushMs = samples.map((s) => s.pushMs).sort((a, b) => a - b);
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadBefore: load, loadAfter: loadavg().map((l) => l.toFixed(2)) },
    pushes,
    answeredMs: { p50: median(answered), min: answered[0], max: answered.at(-1) },
    pushMs: { p50: median(pushMs), min: pushMs[0], max: pushMs.at(-1) },
  };
  console.log(`\npush → new version answering: p50 ${result.answeredMs.p50.toFixed(0)} ms (min ${result.answeredMs.min.toFixed(0)}, max ${result.answeredMs.max.toFixed(0)})`);
  console.log(`git push alone:                p50 ${result.pushMs.p50.toFixed(0)} ms; load average before ${load.join(" ")}`);
  writeFileSync(join(root, "bench/results/git-push.json"), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await isle.stop();
  rmSync(dir, { recursive: true, force: true });
}
