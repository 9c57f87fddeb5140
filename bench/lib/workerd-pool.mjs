// Runs workerd the way a reference should run on this machine: one process per
// core (a workerd process uses one core; it has no threads option), all
// accepting on one listening socket that the benchmark opens and hands to each
// (`serve --socket-fd`), so the kernel spreads connections among them.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

const require = createRequire(import.meta.url);

/** How many workerd processes a reference runs: one per core, or BENCH_WORKERD_PROCESSES. */
export const processesPerReference = () => Number(process.env.BENCH_WORKERD_PROCESSES || availableParallelism());

/** Bundles a function's entry into one ES module (what Isle's build makes of a one-file function). */
export async function bundle(entry) {
  const out = await build({ entryPoints: [entry], bundle: true, format: "esm", write: false, platform: "browser" });
  return out.outputFiles[0].text;
}

/** A listening TCP socket on a free loopback port: { port, fd, close }. */
function listeningSocket() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      // The fd of the listening socket. Node keeps it on the internal handle; there is no public
      // accessor, and this one is stable on Unix (it is what cluster's handle passing uses).
      done({ port: server.address().port, fd: server._handle.fd, close: () => server.close() });
    });
  });
}

/**
 * Writes `capnp` (whose socket is named "http", with no address) under `dir`
 * as `name`.capnp and serves it from `processes` workerd processes sharing one
 * socket. Resolves { url, pids, stop } once the socket answers `probePath`.
 */
export async function startWorkerdPool({ dir, name, capnp, processes = processesPerReference(), experimental = false, probePath = "/" }) {
  const config = join(dir, `${name}.capnp`);
  writeFileSync(config, capnp);
  const socket = await listeningSocket();
  const workerd = require("workerd").default;
  const args = ["serve", ...(experimental ? ["--experimental"] : []), "--socket-fd", "http=3", config];
  // setpriv: each process dies with the benchmark, however the benchmark ends.
  // fd 3 of each child is a duplicate of the listening socket.
  const procs = Array.from({ length: processes }, () =>
    spawn("/usr/bin/setpriv", ["--pdeathsig", "SIGKILL", "--", workerd, ...args], { stdio: ["ignore", "ignore", "inherit", socket.fd] }),
  );
  // The children hold their own copies now. Closing ours keeps this process from
  // accepting connections on it (its event loop would, and would never answer them).
  socket.close();
  const stop = () => procs.forEach((p) => p.kill("SIGKILL"));
  const url = `http://127.0.0.1:${socket.port}/`;
  for (let i = 0; i < 100; i++) {
    if (procs.some((p) => p.exitCode !== null)) break;
    if (await fetch(new URL(probePath, url)).then((r) => r.ok, () => false)) return { url, pids: procs.map((p) => p.pid), stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`workerd (${name}) did not start`);
}
