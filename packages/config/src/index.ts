import { z } from "zod";
import { CidrList } from "./address-ranges.js";

/** Log levels every Isle process accepts in ISLE_LOG_LEVEL. */
export const logLevel = z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info");

/** A TCP port number; 0 lets the system choose. */
export const port = z.coerce.number().int().min(0).max(65535);

/**
 * Validates an app's environment once, at start. The error names every key
 * that is wrong and what it allows, so an operator can fix them in one go.
 */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv, app: string): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid ${app} configuration: ${problems}`);
  }
  return parsed.data;
}

/**
 * The three PEM files of a part's platform identity, issued with `isle-certs`
 * (ADR 0011). Required: there is no insecure mode to forget switched on, and a
 * part started without them says which one is missing.
 */
export function tlsFiles(part: string) {
  const file = (what: string) => z.string({ error: `required: ${what} (PEM file)` }).min(1, `required: ${what} (PEM file)`);
  return {
    ISLE_TLS_CA: file("the platform CA's certificate"),
    ISLE_TLS_CERT: file(`this ${part}'s certificate`),
    ISLE_TLS_KEY: file(`this ${part}'s private key`),
  };
}

/** Where a part's platform identity is, as parsed from `tlsFiles`. */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function tlsFilesOf(v: { ISLE_TLS_CA: string; ISLE_TLS_CERT: string; ISLE_TLS_KEY: string }): TlsFiles {
  return { caFile: v.ISLE_TLS_CA, certFile: v.ISLE_TLS_CERT, keyFile: v.ISLE_TLS_KEY };
}

export { addressKind, CidrList, embeddedIpv4, unbracket, type AddressKind } from "./address-ranges.js";

/** A comma-separated list of addresses and CIDR ranges (an allowlist setting); empty when unset. */
export const cidrList = z.string().default("").transform((text, ctx) => {
  try {
    return CidrList.parse(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});
