import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The operator token: ISLE_ADMIN_TOKEN when set; otherwise the one generated
 * at first start and kept in the data directory (mode 0600), so restarts keep
 * it. `created` says whether this start made it, so main.ts prints it once.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; created: boolean } {
  if (configured) return { token: configured, created: false };
  const file = join(dataDir, "admin-token");
  try {
    return { token: readFileSync(file, "utf8").trim(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const token = `isle_admin_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  return { token, created: true };
}
