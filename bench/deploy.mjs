#!/usr/bin/env node
// `npm run bench -- deploy`: the time from starting a deploy to the first successful answer of
// the new version, client-side. Starts Isle as `npm start` does, then four series of
// BENCH_DEPLOYS (20) deploys each, one at a time, every one changing the text the function
// answers, each after one untimed deploy of its kind (first build, first push):
//
// - API, same function: a tar.gz POSTed as `isle deploy` sends it (lib/isle-api.mjs);
// - API, new function: the same, each to a function that did not exist (its first request
//   also activates it from zero replicas and loads its isolate);
// - git push, same function / new function: the real git client (lib/git.mjs), as git-push.mjs.
//
// From the moment the POST (or `git push`) starts, the function is polled every 5 ms until it
// answers the new text; the POST's own time (it returns once the version is active) and the
// push's are reported too. Writes bench/results/deploy.json.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { latencySummary } from "./lib/events.mjs";
import { gitRemote, gitRepo } from "./lib/git.mjs";
import { helloFiles, isleApi, untilAnswers } from "./lib/isle-api.mjs";
import { startIsle } from "./lib/isle.mjs";
import { machine } from "./lib/machine.mjs";
import { markdownTable, writeResult } from "./lib/report.mjs";

const deploys = Number(process.env.BENCH_DEPLOYS ?? 20);

const dir = mkdtempSync(join(tmpdir(), "isle-bench-deploy-"));
// Every deployed function holds a replica once invoked; the default cap is 100 per tenant.
const isle = await startIsle(dir, { ISLE_TENANT_MAX_REPLICAS: "100000" });
const api = isleApi(isle);
const before = machine();

/**
 * Runs `deploys` + 1 deploys, the first untimed; `start(i, text)` starts deploy i of `text` and
 * returns the promise of its own end (ms), `fn(i)` names its function.
 */
async function series(label, fn, start) {
  const answered = [];
  const returned = [];
  for (let i = 0; i <= deploys; i++) {
    const text = `${fn(i)} v${i}`;
    const started = performance.now();
    const ended = start(i, text);
    ended.catch(() => undefined); // awaited below; a failure must not end the process before Isle stops
    const answeredMs = (await untilAnswers(`${isle.baseUrl}/fn/bench/${fn(i)}/`, text)) - started;
    const returnedMs = await ended;
    if (i === 0) continue;
    answered.push(answeredMs);
    returned.push(returnedMs);
  }
  const result = { answered: latencySummary(answered), returned: latencySummary(returned) };
  console.log(`${label}: answering p50 ${result.answered.p50.toFixed(0)} ms, p99 ${result.answered.p99.toFixed(0)} ms`);
  return result;
}

/** The POST of `text` as function `name`; resolves with its duration (ms) once it answered 201. */
const apiDeploy = (name, text) => {
  const started = performance.now();
  return api.deploy("bench", name, helloFiles(text)).then(() => performance.now() - started);
};

try {
  await api.tenant("bench");
  const { key } = await api.call("POST", "/v1/tenants/bench/keys", { json: { name: "git", scopes: ["deploy"] } });
  const repo = gitRepo(dir);
  const gitDeploy = (name, text) => {
    repo.commit(helloFiles(text), text);
    return repo.push(gitRemote(isle, key, "bench", name));
  };
  const results = {
    apiSame: await series("API deploy, same function", () => "api-same", (i, text) => apiDeploy("api-same", text)),
    apiNew: await series("API deploy, new function", (i) => `api-new-${i}`, (i, text) => apiDeploy(`api-new-${i}`, text)),
    gitSame: await series("git push, same function", () => "git-same", (i, text) => gitDeploy("git-same", text)),
    gitNew: await series("git push, new function", (i) => `git-new-${i}`, (i, text) => gitDeploy(`git-new-${i}`, text)),
  };
  const labels = { apiSame: "API deploy, same function", apiNew: "API deploy, new function", gitSame: "git push, same function", gitNew: "git push, new function" };
  console.log(`\nFrom the start of a deploy to the new version's first answer, ${deploys} deploys each (ms):\n`);
  console.log(
    markdownTable(
      ["deploy", "answering p50", "p99", "max", "POST / git push returned p50", "p99"],
      Object.entries(results).map(([k, r]) => [labels[k], r.answered.p50, r.answered.p99, r.answered.max, r.returned.p50, r.returned.p99]),
      0,
    ),
  );
  writeResult("deploy", { at: new Date().toISOString(), machine: { ...before, loadAfter: machine().loadAverage }, settings: { deploys }, results });
} finally {
  await isle.stop();
  rmSync(dir, { recursive: true, force: true });
}
