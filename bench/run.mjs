#!/usr/bin/env node
// `npm run bench [-- name…]`: runs the named benchmarks (default: all), each
// in its own process, one after another so they do not share the machine.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const benchmarks = {
  invoke: "hello world through Isle against workerd (static, loader), Deno and the bare chain, c=1/32/256",
  runaway: "a neighbour's latency while a spinning function is stopped",
  "git-push": "time from git push to the new version answering",
  deploy: "time from an API deploy or a git push to the new version answering, same and new functions",
  "cold-start": "first request to many fresh functions, after eviction, after a workerd restart",
  density: "agent node memory with 100, 1 000 and 5 000 functions loaded",
  async: "async invocations: enqueue rate, throughput and enqueue-to-start, each queue",
  "scale-up": "cluster: from a load step to new replicas serving (network namespaces, root)",
  "cluster-throughput": "cluster: hello-world throughput with 1, 2 and 3 agent nodes serving (root)",
  containers: "container functions: cold start and warm throughput next to isolates (root)",
};
const names = process.argv.slice(2);
const unknown = names.filter((n) => !(n in benchmarks));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(", ")}; choose from:`);
  for (const [name, what] of Object.entries(benchmarks)) console.error(`  ${name.padEnd(18)} ${what}`);
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(benchmarks)) {
  const { status } = spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), `${name}.mjs`)], { stdio: "inherit" });
  if (status !== 0) process.exit(status ?? 1);
}
