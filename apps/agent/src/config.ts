import { availableParallelism, hostname } from "node:os";
import { logLevel, parseEnv } from "@isle/config";
import { z } from "zod";

const schema = z.object({
  ISLE_AGENT_ID: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a lowercase DNS label").optional(),
  ISLE_AGENT_SOCKET: z.string().min(1).default("./.isle/run/agent.sock"),
  ISLE_AGENT_WORK_DIR: z.string().min(1).default("./.isle/agent"),
  /** host:port of the control plane's gRPC listener. */
  ISLE_CONTROL_ADDRESS: z.string().min(1).default("127.0.0.1:7070"),
  /** host:port the gateway reaches this agent at: its sidecar. */
  ISLE_AGENT_ADVERTISE: z.string().min(1).default("127.0.0.1:7443"),
  ISLE_WORKERD_PROCESSES: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  ISLE_AGENT_CAPACITY: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Memory limit of each workerd process, through a cgroup v1 memory group; 0 for none. */
  ISLE_WORKERD_MEMORY_MB: z.coerce.number().int().min(0).max(1_048_576).default(1024),
  ISLE_ARTIFACT_CACHE_MB: z.coerce.number().int().min(1).max(65_536).default(256),
  ISLE_LOG_LEVEL: logLevel,
  /** "1" logs the generated workerd configuration at start. */
  ISLE_DEBUG_WORKERD_CONFIG: z.enum(["0", "1"]).default("0"),
});

export interface AgentConfig {
  agentId: string;
  socketPath: string;
  workDir: string;
  controlAddress: string;
  advertiseAddress: string;
  workerdProcesses: number;
  workerdMemoryMb: number | undefined;
  capacity: number;
  artifactCacheBytes: number;
  logLevel: string;
  debugWorkerdConfig: boolean;
}

/** Parses the agent's settings once; errors name the key and what it allows. */
export function loadConfig(env: NodeJS.ProcessEnv): AgentConfig {
  const v = parseEnv(schema, env, "agent");
  return {
    agentId: v.ISLE_AGENT_ID ?? hostname().toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63),
    socketPath: v.ISLE_AGENT_SOCKET,
    workDir: v.ISLE_AGENT_WORK_DIR,
    controlAddress: v.ISLE_CONTROL_ADDRESS,
    advertiseAddress: v.ISLE_AGENT_ADVERTISE,
    workerdProcesses: v.ISLE_WORKERD_PROCESSES,
    workerdMemoryMb: v.ISLE_WORKERD_MEMORY_MB === 0 ? undefined : v.ISLE_WORKERD_MEMORY_MB,
    capacity: v.ISLE_AGENT_CAPACITY,
    artifactCacheBytes: v.ISLE_ARTIFACT_CACHE_MB * 1024 * 1024,
    logLevel: v.ISLE_LOG_LEVEL,
    debugWorkerdConfig: v.ISLE_DEBUG_WORKERD_CONFIG === "1",
  };
}
