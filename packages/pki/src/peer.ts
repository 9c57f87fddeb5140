import { X509Certificate } from "node:crypto";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { identityOf, type Identity } from "./identity.js";
import type { Role } from "./issue.js";

/** A mutual-TLS peer admitted in its role: its certificate (for its public key) and who it names. */
export interface AdmittedPeer {
  cert: X509Certificate;
  identity: Identity;
}

/** Why a peer was not admitted, as the name of the gRPC status to answer with. */
export interface PeerRefusal {
  refused: "UNAUTHENTICATED" | "PERMISSION_DENIED";
  details: string;
}

/**
 * Admits the peer of a mutual-TLS connection only in `role`. TLS has already
 * checked that `raw` (the peer's DER certificate) was issued by the platform
 * CA — the server requires and verifies client certificates — so this only
 * reads which part of the platform it names.
 */
export function admitPeer(raw: Buffer | undefined, role: Role): AdmittedPeer | PeerRefusal {
  if (!raw) return { refused: "UNAUTHENTICATED", details: "a platform certificate is required" };
  const cert = new X509Certificate(raw);
  const identity = identityOf(cert);
  if (identity?.role !== role) return { refused: "PERMISSION_DENIED", details: `only ${role} certificates are admitted here` };
  return { cert, identity };
}

export function isRefusal(value: AdmittedPeer | PeerRefusal): value is PeerRefusal {
  return "refused" in value;
}

/**
 * A TLS client's check of the server it reached: the usual host-name check,
 * then that the certificate names `role`. The CA alone is not enough: every
 * part's certificate comes from it, and a compromised node's sidecar
 * certificate names that node's address too.
 */
export function checkServerRole(role: Role): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) =>
    checkServerIdentity(host, cert) ??
    (identityOf(cert.raw)?.role === role ? undefined : new Error(`the server's certificate is not a ${role}'s`));
}
