import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { TlsFiles } from "@isle/config";
import { checkServerRole, identityOf } from "@isle/pki";

/** This agent's platform identity (PEM): the CA it trusts, and its own certificate and key. */
export interface AgentTls {
  caPem: Buffer;
  certPem: Buffer;
  keyPem: Buffer;
}

/**
 * Reads the agent's certificate files, and checks before anything connects
 * that the certificate is this agent's: the control plane refuses an agent
 * that registers under another name than its certificate's, and an operator
 * had better hear why at start than from a reconnecting loop.
 */
export function readAgentTls(files: TlsFiles, agentId: string): AgentTls {
  const tls = { caPem: readFileSync(files.caFile), certPem: readFileSync(files.certFile), keyPem: readFileSync(files.keyFile) };
  const identity = identityOf(new X509Certificate(tls.certPem));
  if (identity?.role !== "agent" || identity.name !== agentId) {
    const named = identity ? `${identity.role} ${identity.name}` : "no platform identity";
    throw new Error(`ISLE_TLS_CERT names ${named}, not agent ${agentId}: issue it with isle-certs issue --role agent --name ${agentId}`);
  }
  return tls;
}

/**
 * Mutual TLS to the control plane: this agent's certificate as the client's,
 * and the server must hold a certificate of the platform CA for the host
 * dialled — and a gateway's. Another part's certificate (a sidecar's, whose
 * node may be compromised) must not pass: the control plane tells the agent
 * which code to run and with which secrets.
 */
export function controlPlaneCredentials(tls: AgentTls): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(tls.caPem, tls.keyPem, tls.certPem, {
    checkServerIdentity: checkServerRole("gateway"),
  });
}
