// Serves one function from a bare workerd process: the reference Isle is measured against.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { build } from "esbuild";

const require = createRequire(import.meta.url);

/** Bundles `entry` and serves it on 127.0.0.1:port as a plain workerd worker. */
export async function startBareWorkerd({ entry, port, dir }) {
  const bundle = await build({ entryPoints: [entry], bundle: true, format: "esm", write: false, platform: "browser" });
  writeFileSync(join(dir, "worker.js"), bundle.outputFiles[0].text);
  writeFileSync(
    join(dir, "bare.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = (modules = [(name = "worker.js", esModule = embed "worker.js")], compatibilityDate = "2026-11-01"))],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
`,
  );
  const workerd = require("workerd").default;
  const proc = spawn("/usr/bin/setpriv", ["--pdeathsig", "SIGKILL", "--", workerd, "serve", join(dir, "bare.capnp")], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return { url, stop: () => proc.kill("SIGKILL") };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill("SIGKILL");
  throw new Error("bare workerd did not start");
}
