// The loader reference: the runtime floor Isle builds on. A minimal supervisor
// worker hands each request to the function through a Worker Loader binding,
// under one fixed isolate id so the isolate stays loaded (warm), as Isle's
// supervisor does; none of Isle's own work (artifacts, egress, limits, logs).
// One process per core on one shared socket, like the static reference.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, startWorkerdPool } from "./workerd-pool.mjs";

// The function's bundle arrives as a text module; the loader's callback runs
// only when the id is not loaded yet, so the source is handed over once.
const supervisor = `import source from "function.js";
const code = () => ({ compatibilityDate: "2026-11-01", mainModule: "index.js", modules: { "index.js": source } });
export default {
  fetch(request, env) {
    return env.LOADER.get("hello", code).getEntrypoint().fetch(request);
  },
};
`;

/** Serves `entry` (bundled) through a Worker Loader supervisor; resolves { url, pids, stop }. */
export async function startLoaderWorkerd({ entry, dir, processes }) {
  writeFileSync(join(dir, "function.js"), await bundle(entry));
  writeFileSync(join(dir, "supervisor.js"), supervisor);
  // Worker Loader is experimental in workerd: `serve --experimental` and the
  // supervisor's "experimental" flag both.
  const capnp = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "supervisor", worker = (
    modules = [(name = "supervisor.js", esModule = embed "supervisor.js"), (name = "function.js", text = embed "function.js")],
    compatibilityDate = "2026-11-01",
    compatibilityFlags = ["experimental"],
    bindings = [(name = "LOADER", workerLoader = ())],
  ))],
  sockets = [(name = "http", http = (), service = "supervisor")],
);
`;
  return startWorkerdPool({ dir, name: "loader", capnp, processes, experimental: true });
}

// The cold-start reference: the same supervisor shape, but `/?id=X` loads a hello world
// answering X under isolate id X, so a fresh id is a fresh isolate; no id answers at once
// (the pool's readiness probe).
const coldSupervisor = `export default {
  fetch(request, env) {
    const id = new URL(request.url).searchParams.get("id");
    if (!id) return new Response("ready");
    const code = () => ({
      compatibilityDate: "2026-11-01",
      mainModule: "index.js",
      modules: { "index.js": "export default { fetch: () => new Response(" + JSON.stringify(id) + ") };" },
    });
    return env.LOADER.get(id, code).getEntrypoint().fetch(request);
  },
};
`;

/** A Worker Loader supervisor whose `/?id=X` answers X from isolate X, loaded on first use; resolves { url, pids, stop }. */
export async function startColdLoaderWorkerd({ dir, processes = 1 }) {
  writeFileSync(join(dir, "cold-supervisor.js"), coldSupervisor);
  const capnp = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "supervisor", worker = (
    modules = [(name = "cold-supervisor.js", esModule = embed "cold-supervisor.js")],
    compatibilityDate = "2026-11-01",
    compatibilityFlags = ["experimental"],
    bindings = [(name = "LOADER", workerLoader = ())],
  ))],
  sockets = [(name = "http", http = (), service = "supervisor")],
);
`;
  return startWorkerdPool({ dir, name: "cold-loader", capnp, processes, experimental: true });
}
