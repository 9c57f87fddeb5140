import { isIP } from "node:net";
import { authoritySigner, type Authority } from "./authority.js";
import { algorithm, generateKeys, privateKeyPem, serialNumber, x509 } from "./crypto.js";

/**
 * What a certificate lets its holder be: gateways call sidecars and serve the
 * control plane; sidecars serve gateways; agents use the control plane.
 */
export const roles = ["gateway", "sidecar", "agent"] as const;
export type Role = (typeof roles)[number];

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

const dayMs = 24 * 3600 * 1000;

/**
 * A certificate for one part, signed by the platform CA: its identity is the
 * URI `spiffe://isle/<role>/<name>` in its subject alternative names, beside
 * the DNS names and IPs it serves on (a sidecar's advertised address must be
 * among them, or gateways will not accept it).
 */
export async function issueCertificate(
  authority: Authority,
  request: { role: Role; name: string; hosts: readonly string[]; validDays?: number },
  now = new Date(),
): Promise<IssuedCertificate> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(request.name)) throw new Error(`"${request.name}" is not a lowercase DNS label`);
  const ca = await authoritySigner(authority);
  const keys = await generateKeys();
  const names: x509.JsonGeneralName[] = [{ type: "url", value: `spiffe://isle/${request.role}/${request.name}` }];
  for (const host of request.hosts) names.push({ type: isIP(host) ? "ip" : "dns", value: host });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=isle-${request.role}-${request.name}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + (request.validDays ?? 365) * dayMs),
    signingKey: ca.key,
    publicKey: keys.publicKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}
