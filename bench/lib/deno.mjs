// The Deno reference: the same bundled function behind `Deno.serve`. One
// process by default (Deno.serve serves from one thread); BENCH_DENO_PARALLEL=1
// runs `deno serve --parallel` instead, one worker thread per core, for the
// per-core comparison the workerd references make.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { bundle } from "./workerd-pool.mjs";

const require = createRequire(import.meta.url);

/**
 * The deno binary itself. node_modules/.bin/deno is a Node script that spawns
 * it: the benchmark would measure and kill that wrapper instead of Deno.
 */
const denoBinary = () => join(dirname(require.resolve("deno/package.json")), "deno");

const wrapper = `import fn from "./function.js";
const [hostname, port] = Deno.args;
Deno.serve({ hostname, port: Number(port), onListen() {} }, (request) => fn.fetch(request));
`;

/** Serves `entry` (bundled) from Deno on 127.0.0.1:port; resolves { url, pids, stop }. */
export async function startDeno({ entry, dir, port, parallel = process.env.BENCH_DENO_PARALLEL === "1" }) {
  writeFileSync(join(dir, "function.js"), await bundle(entry));
  writeFileSync(join(dir, "deno-serve.js"), wrapper);
  const args = parallel
    ? ["serve", "--parallel", "--allow-net", "--host", "127.0.0.1", "--port", String(port), join(dir, "function.js")]
    : ["run", "--allow-net", join(dir, "deno-serve.js"), "127.0.0.1", String(port)];
  // A scratch DENO_DIR and no update check: nothing reaches for the network or the user's cache.
  const env = { ...process.env, DENO_DIR: join(dir, "deno-dir"), DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" };
  const proc = spawn("/usr/bin/setpriv", ["--pdeathsig", "SIGKILL", "--", denoBinary(), ...args], { stdio: ["ignore", "ignore", "inherit"], env, cwd: dir });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) break;
    if (await fetch(url).then((r) => r.ok, () => false)) return { url, pids: [proc.pid], stop: () => proc.kill("SIGKILL") };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill("SIGKILL");
  throw new Error("deno did not start");
}
