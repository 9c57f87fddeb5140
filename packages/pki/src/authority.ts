import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { algorithm, generateKeys, importPrivateKey, privateKeyPem, serialNumber, x509 } from "./crypto.js";

/** The platform CA: its certificate (shared with every part) and its key (gateways only). */
export interface Authority {
  certPem: string;
  keyPem: string;
}

const yearMs = 365 * 24 * 3600 * 1000;

export async function createAuthority(now = new Date()): Promise<Authority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: "CN=Isle platform CA",
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 10 * yearMs),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * The CA in `<dir>/ca.crt` and `<dir>/ca.key` (mode 0600), created on first
 * use. Several gateways must share these two files, as they share the secrets
 * key. The key file is written with O_EXCL, so two processes starting at once
 * cannot each create a different CA: the loser reads the winner's.
 */
export async function loadOrCreateAuthority(dir: string): Promise<Authority> {
  const certFile = join(dir, "ca.crt");
  const keyFile = join(dir, "ca.key");
  try {
    return readAuthority(certFile, keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const created = await createAuthority();
  try {
    writeFileSync(keyFile, created.keyPem, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    await waitForFile(certFile);
    return readAuthority(certFile, keyFile);
  }
  writeFileSync(certFile, created.certPem, { mode: 0o644 });
  return created;
}

function readAuthority(certFile: string, keyFile: string): Authority {
  return { certPem: readFileSync(certFile, "utf8"), keyPem: readFileSync(keyFile, "utf8") };
}

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      readFileSync(path);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`${path} did not appear`);
}

/** The CA's certificate and signing key, ready to issue with. */
export async function authoritySigner(authority: Authority): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  return { cert: new x509.X509Certificate(authority.certPem), key: await importPrivateKey(authority.keyPem) };
}
