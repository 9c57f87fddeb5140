import { logLevel, parseEnv, port } from "@isle/config";
import { z } from "zod";

const schema = z.object({
  ISLE_SIDECAR_HOST: z.string().default("127.0.0.1"),
  ISLE_SIDECAR_PORT: port.default(7443),
  ISLE_AGENT_SOCKET: z.string().min(1).default("./.isle/run/agent.sock"),
  ISLE_LOG_LEVEL: logLevel,
});

export interface SidecarConfig {
  host: string;
  port: number;
  agentSocket: string;
  logLevel: string;
}

/** Parses the sidecar's settings once; errors name the key and what it allows. */
export function loadConfig(env: NodeJS.ProcessEnv): SidecarConfig {
  const v = parseEnv(schema, env, "sidecar");
  return { host: v.ISLE_SIDECAR_HOST, port: v.ISLE_SIDECAR_PORT, agentSocket: v.ISLE_AGENT_SOCKET, logLevel: v.ISLE_LOG_LEVEL };
}
