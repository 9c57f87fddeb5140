#!/usr/bin/env node
// `npm run bench -- git-push`: the time from `git push` to the pushed version answering.
// Starts Isle as `npm start` does, then pushes BENCH_PUSHES (10) commits to main with the real
// git client, each changing what the function answers, and polls the function until it answers
// with the new text. Reports p50 and the spread of that time and of the push alone (build,
// activation and the remote: output included); writes bench/results/git-push.json.
// bench/deploy.mjs measures the same for new functions and for API deploys, with p99s.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { median } from "./lib/events.mjs";
import { gitRemote, gitRepo } from "./lib/git.mjs";
import { helloFiles, isleApi, untilAnswers } from "./lib/isle-api.mjs";
import { startIsle } from "./lib/isle.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pushes = Number(process.env.BENCH_PUSHES ?? 10);

const dir = mkdtempSync(join(tmpdir(), "isle-bench-git-"));
const isle = await startIsle(dir);
const load = loadavg().map((l) => l.toFixed(2));
try {
  const api = isleApi(isle);
  await api.tenant("bench");
  const { key } = await api.call("POST", "/v1/tenants/bench/keys", { json: { name: "git", scopes: ["deploy"] } });
  const repo = gitRepo(dir);
  const remote = gitRemote(isle, key, "bench", "hello");
  const url = `${isle.baseUrl}/fn/bench/hello/`;

  const samples = [];
  // One push first, untimed: it creates the function and the repository, and warms the isolate pool.
  for (let i = 0; i <= pushes; i++) {
    repo.commit(helloFiles(`v${i}`), `v${i}`);
    const started = performance.now();
    const pushed = repo.push(remote);
    const answeredMs = (await untilAnswers(url, `v${i}`)) - started;
    const ms = await pushed;
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
