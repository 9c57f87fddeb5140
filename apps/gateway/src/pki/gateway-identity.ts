import { hostname } from "node:os";
import { join } from "node:path";
import { issueCertificate, loadOrCreateAuthority } from "@isle/pki";
import type { GatewayTls } from "../invoke/sidecar-invoker.js";

/** Where the platform CA lives: `<dataDir>/pki` (share it between gateways, like the secrets key). */
export function pkiDir(dataDir: string): string {
  return join(dataDir, "pki");
}

/**
 * This gateway's identity, for calling sidecars and for serving the control
 * plane to agents: the platform CA (created on first start) and a fresh
 * gateway certificate issued from it at every start, kept in memory only — its
 * key signs invocation contexts. `hosts` are the names agents dial the control
 * plane at (control-tls.ts).
 */
export async function gatewayTls(dataDir: string, hosts: readonly string[] = []): Promise<GatewayTls> {
  const authority = await loadOrCreateAuthority(pkiDir(dataDir));
  const name = hostname().toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63) || "gateway";
  const own = await issueCertificate(authority, { role: "gateway", name, hosts });
  return { caPem: authority.certPem, certPem: own.certPem, keyPem: own.keyPem };
}
