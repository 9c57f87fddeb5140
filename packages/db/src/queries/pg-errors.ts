/** SQLSTATE codes the helpers translate into IsleErrors. */
export const sqlState = {
  uniqueViolation: "23505",
  checkViolation: "23514",
} as const;

/**
 * The SQLSTATE of a failed query, whichever driver raised it. Drizzle wraps driver errors in
 * DrizzleQueryError (the original is `cause`); node-postgres and PGlite both put the SQLSTATE
 * in `code` on the original.
 */
export function sqlStateOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (typeof e !== "object") return undefined;
    if ("code" in e && typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    e = "cause" in e ? e.cause : undefined;
  }
  return undefined;
}

/**
 * Tenant and function names are DNS labels (they appear in host names): 1–63
 * of a-z, 0-9 and "-", not starting or ending with "-". The schema's check
 * constraints say the same in SQL.
 */
export const dnsLabelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when a DNS label (see {@link dnsLabelPattern}). */
export function isDnsLabel(name: string): boolean {
  return dnsLabelPattern.test(name);
}
