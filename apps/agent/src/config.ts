import { availableParallelism, hostname } from "node:os";
import { cidrList, type CidrList, logLevel, parseEnv, port, tlsFiles, tlsFilesOf, type TlsFiles } from "@isle/config";
import { z } from "zod";

const httpUrl = z
  .string()
  .url()
  .refine((text) => /^https?:\/\//.test(text), "an http(s) URL");

const schema = z.object({
  /** This agent's name; its certificate (ISLE_TLS_CERT) must name it. */
  ISLE_AGENT_ID: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a lowercase DNS label").optional(),
  ISLE_AGENT_SOCKET: z.string().min(1).default("./.isle/run/agent.sock"),
  ISLE_AGENT_WORK_DIR: z.string().min(1).default("./.isle/agent"),
  /**
   * host:port of the control plane's gRPC listener (mutual TLS), or of each
   * gateway's, comma-separated: the agent registers with every one. Each host
   * must be named in that gateway's certificate.
   */
  ISLE_CONTROL_ADDRESS: z.string().default("127.0.0.1:7070").transform((text, ctx) => {
    const entries = text.split(",").map((entry) => entry.trim());
    entries.forEach((entry, i) => {
      const problem = entry === "" ? "is empty" : /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(entry) ? undefined : `(${entry}) is not host:port`;
      if (problem) ctx.addIssue({ code: "custom", message: `entry ${i + 1} ${problem}: a comma-separated list of host:port` });
    });
    return [...new Set(entries)];
  }),
  /** The agent's platform identity for the control plane, from `isle-certs issue --role agent --name <ISLE_AGENT_ID>`. */
  ...tlsFiles("agent"),
  /** host:port the gateway reaches this agent at: its sidecar. */
  ISLE_AGENT_ADVERTISE: z.string().min(1).default("127.0.0.1:7443"),
  ISLE_WORKERD_PROCESSES: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  ISLE_AGENT_CAPACITY: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Memory limit of each workerd process, through a cgroup v1 memory group; 0 for none. */
  ISLE_WORKERD_MEMORY_MB: z.coerce.number().int().min(0).max(1_048_576).default(1024),
  /**
   * Resident memory past which a workerd process is drained and restarted, which unloads the
   * isolates it holds (workerd never does); "off" for never. Default: 75 % of
   * ISLE_WORKERD_MEMORY_MB, or 1536 when that is 0.
   */
  ISLE_WORKERD_RECYCLE_MB: z.union([z.literal("off"), z.coerce.number().int().min(16).max(1_048_576)]).optional(),
  ISLE_ARTIFACT_CACHE_MB: z.coerce.number().int().min(1).max(65_536).default(256),
  /** Addresses and CIDR ranges functions may reach although private (comma-separated). */
  ISLE_EGRESS_ALLOW: cidrList,
  /** Addresses and CIDR ranges functions may never reach, on top of the platform's own. */
  ISLE_EGRESS_DENY: cidrList,
  /** The gateway's invoke listener as this agent reaches it; function calls go there. */
  ISLE_GATEWAY_URL: httpUrl.default("http://127.0.0.1:8080").transform((text) => new URL(text)),
  /** The gateway's public URL, when it differs: functions' fetches of it are function calls too. */
  ISLE_PUBLIC_URL: httpUrl.transform((text) => new URL(text)).optional(),
  /** The gateway's ISLE_DOMAIN: `<function>--<tenant>.<domain>` fetches are function calls. */
  ISLE_DOMAIN: z.string().optional(),
  /** Interface of the Prometheus /metrics listener; loopback unless the operator opens it. */
  ISLE_AGENT_METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  /** Port of the /metrics listener; "off" for none, 0 lets the system choose. */
  ISLE_AGENT_METRICS_PORT: z.union([z.literal("off"), port]).default(9464),
  ISLE_LOG_LEVEL: logLevel,
  /** How long a stopping agent (SIGTERM) waits for its in-flight invocations before it stops anyway. */
  ISLE_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /**
   * Container functions (runc): "auto" runs them when this agent can (root, runc on PATH, a root
   * filesystem directory), "on" refuses to start without, "off" never runs them.
   */
  ISLE_CONTAINERS: z.enum(["auto", "on", "off"]).default("auto"),
  /** Root filesystems of container functions, one directory per kind (`infra/rootfs/build.sh <kind> <dir>/<kind>`). */
  ISLE_ROOTFS_DIR: z.string().min(1).default("./.isle/rootfs"),
  /** Share of a core each container replica may use (its CFS quota). */
  ISLE_CONTAINER_CPU: z.coerce.number().min(0.01).max(64).default(1),
  /** Processes and threads one container replica may have. */
  ISLE_CONTAINER_PIDS: z.coerce.number().int().min(8).max(65_536).default(128),
  /** "1" logs the generated workerd configuration at start. */
  ISLE_DEBUG_WORKERD_CONFIG: z.enum(["0", "1"]).default("0"),
}).superRefine((v, ctx) => {
  const recycle = v.ISLE_WORKERD_RECYCLE_MB;
  if (typeof recycle === "number" && v.ISLE_WORKERD_MEMORY_MB > 0 && recycle >= v.ISLE_WORKERD_MEMORY_MB) {
    // A budget at or past the limit never triggers: the kernel kills the process first.
    ctx.addIssue({ code: "custom", path: ["ISLE_WORKERD_RECYCLE_MB"], message: `must be below ISLE_WORKERD_MEMORY_MB (${v.ISLE_WORKERD_MEMORY_MB})` });
  }
});

export interface AgentConfig {
  agentId: string;
  socketPath: string;
  workDir: string;
  /** Every control plane to register with, in the order given. */
  controlAddresses: string[];
  tls: TlsFiles;
  advertiseAddress: string;
  workerdProcesses: number;
  workerdMemoryMb: number | undefined;
  /** Memory budget of a workerd process before it is recycled; undefined: never. */
  workerdRecycleMb: number | undefined;
  capacity: number;
  artifactCacheBytes: number;
  egress: { allow: CidrList; deny: CidrList; gatewayUrl: URL; publicUrl: URL | undefined; domain: string | undefined };
  /** The /metrics listener; undefined when off. */
  metrics: { host: string; port: number } | undefined;
  logLevel: string;
  debugWorkerdConfig: boolean;
  drainTimeoutMs: number;
  containers: { mode: "auto" | "on" | "off"; rootfsDir: string; cpu: number; pidsMax: number };
}

/** Parses the agent's settings once; errors name the key and what it allows. */
export function loadConfig(env: NodeJS.ProcessEnv): AgentConfig {
  const v = parseEnv(schema, env, "agent");
  return {
    agentId: v.ISLE_AGENT_ID ?? hostname().toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63),
    socketPath: v.ISLE_AGENT_SOCKET,
    workDir: v.ISLE_AGENT_WORK_DIR,
    controlAddresses: v.ISLE_CONTROL_ADDRESS,
    tls: tlsFilesOf(v),
    advertiseAddress: v.ISLE_AGENT_ADVERTISE,
    workerdProcesses: v.ISLE_WORKERD_PROCESSES,
    workerdMemoryMb: v.ISLE_WORKERD_MEMORY_MB === 0 ? undefined : v.ISLE_WORKERD_MEMORY_MB,
    workerdRecycleMb: recycleMb(v.ISLE_WORKERD_RECYCLE_MB, v.ISLE_WORKERD_MEMORY_MB),
    capacity: v.ISLE_AGENT_CAPACITY,
    artifactCacheBytes: v.ISLE_ARTIFACT_CACHE_MB * 1024 * 1024,
    egress: {
      allow: v.ISLE_EGRESS_ALLOW,
      deny: v.ISLE_EGRESS_DENY,
      gatewayUrl: v.ISLE_GATEWAY_URL,
      publicUrl: v.ISLE_PUBLIC_URL,
      domain: v.ISLE_DOMAIN,
    },
    metrics: v.ISLE_AGENT_METRICS_PORT === "off" ? undefined : { host: v.ISLE_AGENT_METRICS_HOST, port: v.ISLE_AGENT_METRICS_PORT },
    logLevel: v.ISLE_LOG_LEVEL,
    debugWorkerdConfig: v.ISLE_DEBUG_WORKERD_CONFIG === "1",
    drainTimeoutMs: v.ISLE_DRAIN_TIMEOUT_MS,
    containers: { mode: v.ISLE_CONTAINERS, rootfsDir: v.ISLE_ROOTFS_DIR, cpu: v.ISLE_CONTAINER_CPU, pidsMax: v.ISLE_CONTAINER_PIDS },
  };
}

/**
 * The recycle budget: as set, or three quarters of the memory limit (room for
 * the drain, during which the process still grows), or 1536 MB with no limit.
 */
function recycleMb(setting: number | "off" | undefined, memoryMb: number): number | undefined {
  if (setting === "off") return undefined;
  if (setting !== undefined) return setting;
  return memoryMb > 0 ? Math.floor(memoryMb * 0.75) : 1536;
}
