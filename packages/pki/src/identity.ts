import { X509Certificate } from "node:crypto";
import { roles, type Role } from "./issue.js";

/** Who a platform certificate names. */
export interface Identity {
  role: Role;
  name: string;
}

const spiffe = new RegExp(`(?:^|, )URI:spiffe://isle/(${roles.join("|")})/([a-z0-9-]+)(?:,|$)`);

/**
 * The identity in a certificate's subject alternative names, or undefined
 * when it names none. It says nothing about who signed the certificate: only
 * call this on a certificate TLS has already verified against the platform CA.
 */
export function identityOf(cert: X509Certificate | Buffer): Identity | undefined {
  const x509 = Buffer.isBuffer(cert) ? new X509Certificate(cert) : cert;
  const match = spiffe.exec(x509.subjectAltName ?? "");
  if (!match?.[1] || !match[2]) return undefined;
  return { role: match[1] as Role, name: match[2] };
}
