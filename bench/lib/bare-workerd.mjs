// The static reference: the bundled function as a plain workerd worker, one
// process per core on one shared socket (workerd-pool.mjs). The ceiling for
// serving this function from workerd at all.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, startWorkerdPool } from "./workerd-pool.mjs";

/** Serves `entry` (bundled) as a plain workerd worker; resolves { url, pids, stop }. */
export async function startBareWorkerd({ entry, dir, processes }) {
  writeFileSync(join(dir, "worker.js"), await bundle(entry));
  const capnp = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = (modules = [(name = "worker.js", esModule = embed "worker.js")], compatibilityDate = "2026-11-01"))],
  sockets = [(name = "http", http = (), service = "main")],
);
`;
  return startWorkerdPool({ dir, name: "bare", capnp, processes });
}
