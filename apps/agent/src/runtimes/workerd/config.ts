import { Embed } from "./capnp.js";

/**
 * The subset of workerd's `Config` schema the agent uses (see workerd.capnp).
 * Type aliases rather than interfaces, so they are assignable to CapnpValue.
 */
export type WorkerdConfig = {
  services: WorkerdService[];
  sockets: WorkerdSocket[];
};

export type WorkerdService =
  | { name: string; worker: WorkerdWorker }
  | { name: string; external: { address: string; http: Record<string, never> } }
  | { name: string; network: { allow: string[]; deny?: string[]; tlsOptions?: { trustBrowserCas: boolean } } };

export type WorkerdWorker = {
  modules: Array<{ name: string; esModule: Embed }>;
  compatibilityDate: string;
  compatibilityFlags: string[];
  bindings: WorkerdBinding[];
  globalOutbound?: string;
};

export type WorkerdBinding =
  | { name: string; workerLoader: { id?: string } }
  | { name: string; service: string }
  | { name: string; json: string };

export type WorkerdSocket = {
  name: string;
  /** Left out so that each process gets its own with `--socket-addr`. */
  address?: string;
  http: Record<string, never>;
  service: string;
};

/** What the config depends on. */
export interface WorkerdConfigSpec {
  /** File name of the supervisor module, relative to the config file. */
  supervisorFile: string;
  /** Unix socket path of the agent's artifact server. */
  artifactSocket: string;
  /** Compatibility date of tenant isolates. */
  compatibilityDate: string;
  /** The second egress layer: what workerd's network service lets isolates connect to. */
  network: { allow: readonly string[]; deny: readonly string[] };
  /** host:port of the gateway's invoke listener, where function calls go. */
  gatewayAddress: string;
}

/** Name of the listening socket; processes bind it with `--socket-addr http=…`. */
export const socketName = "http";

/**
 * Compatibility date of the supervisor itself: pinned, so that a workerd
 * upgrade changes the supervisor's semantics only when this line changes.
 */
export const supervisorCompatibilityDate = "2026-11-01";

/** Compatibility flags of tenant isolates (Deno/Workers users expect `node:*`). */
export const isolateCompatibilityFlags = ["nodejs_compat"];

/**
 * Builds the config every workerd process of the pool runs. Pure: the same
 * spec always gives the same config. The socket has no address because all
 * processes share this one file and each listens on its own Unix socket.
 */
export function buildWorkerdConfig(spec: WorkerdConfigSpec): WorkerdConfig {
  return {
    services: [
      {
        name: "supervisor",
        worker: {
          modules: [{ name: "supervisor.js", esModule: new Embed(spec.supervisorFile) }],
          compatibilityDate: supervisorCompatibilityDate,
          // The Worker Loader binding is experimental in workerd. nodejs_compat is
          // implied by the pinned date (workerd warns at every start if it is listed).
          compatibilityFlags: ["experimental"],
          bindings: [
            { name: "LOADER", workerLoader: {} },
            { name: "ARTIFACTS", service: "agent-artifacts" },
            { name: "INTERNET", service: "internet" },
            { name: "GATEWAY", service: "gateway" },
            {
              name: "ISOLATE",
              json: JSON.stringify({
                compatibilityDate: spec.compatibilityDate,
                compatibilityFlags: isolateCompatibilityFlags,
              }),
            },
          ],
          // The supervisor itself sends nothing but through its bindings;
          // isolates get the Egress entrypoint as their outbound.
          globalOutbound: "internet",
        },
      },
      { name: "agent-artifacts", external: { address: `unix:${spec.artifactSocket}`, http: {} } },
      { name: "gateway", external: { address: spec.gatewayAddress, http: {} } },
      {
        name: "internet",
        network: {
          // "public" excludes loopback, private, link-local, CGNAT and the rest; Unix sockets too.
          allow: ["public", ...spec.network.allow],
          deny: [...spec.network.deny],
          tlsOptions: { trustBrowserCas: true },
        },
      },
    ],
    sockets: [{ name: socketName, http: {}, service: "supervisor" }],
  };
}
