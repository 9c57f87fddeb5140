import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The 32-byte key that seals function secrets: ISLE_SECRETS_KEY (base64) when set; otherwise
 * the one generated at first start into `<dataDir>/secrets-key` (mode 0600), so restarts can
 * still open what was sealed. Several gateways must share one key: set it in their config.
 */
export function resolveSecretsKey(configured: Buffer | undefined, dataDir: string): { key: Buffer; created: boolean } {
  if (configured) return { key: configured, created: false };
  const file = join(dataDir, "secrets-key");
  try {
    return { key: decodeKey(readFileSync(file, "utf8").trim(), file), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  return { key, created: true };
}

/** Decodes a base64 key, insisting on 32 bytes; the message names where it came from, never the value. */
export function decodeKey(base64: string, where: string): Buffer {
  const key = Buffer.from(base64, "base64");
  if (key.length !== 32 || key.toString("base64") !== base64.replace(/\s/g, "")) {
    throw new Error(`${where} must be the base64 of exactly 32 bytes (e.g. openssl rand -base64 32)`);
  }
  return key;
}
