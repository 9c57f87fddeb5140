import { logLevel, parseEnv, port, tlsFiles, tlsFilesOf, type TlsFiles } from "@isle/config";
import { z } from "zod";

const schema = z.object({
  ISLE_SIDECAR_HOST: z.string().default("127.0.0.1"),
  ISLE_SIDECAR_PORT: port.default(7443),
  ISLE_AGENT_SOCKET: z.string().min(1).default("./.isle/run/agent.sock"),
  ...tlsFiles("sidecar"),
  ISLE_LOG_LEVEL: logLevel,
  /** Invocations one tenant may run at once on this node; more are refused with tenant_concurrency_limit. 0: no limit. */
  ISLE_SIDECAR_TENANT_CONCURRENCY: z.coerce.number().int().min(0).max(1_000_000).default(1000),
});

export interface SidecarConfig {
  host: string;
  port: number;
  agentSocket: string;
  tls: TlsFiles;
  logLevel: string;
  tenantConcurrency: number;
}

/** Parses the sidecar's settings once; errors name the key and what it allows. */
export function loadConfig(env: NodeJS.ProcessEnv): SidecarConfig {
  const v = parseEnv(schema, env, "sidecar");
  return {
    host: v.ISLE_SIDECAR_HOST,
    port: v.ISLE_SIDECAR_PORT,
    agentSocket: v.ISLE_AGENT_SOCKET,
    tls: tlsFilesOf(v),
    logLevel: v.ISLE_LOG_LEVEL,
    tenantConcurrency: v.ISLE_SIDECAR_TENANT_CONCURRENCY,
  };
}
