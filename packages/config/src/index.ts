import { z } from "zod";

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
