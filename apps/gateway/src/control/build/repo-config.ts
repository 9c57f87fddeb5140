import { z } from "@hono/zod-openapi";
import { parse as parseToml } from "smol-toml";
import type { FunctionSettings } from "@isle/db";
import { IsleError } from "@isle/errors";
import { schedulesSchema, type ScheduleSpec } from "@isle/schedules";
import type { ZodError } from "zod";
import { limitsSchema, scaleSchema } from "../../routes/functions/views.js";
import type { SourceFile } from "./source-files.js";

/** The files a function's own configuration may live in, at the top of its sources. */
export const repoConfigFiles = ["isle.json", "isle.toml"] as const;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an identifier (letters, digits, '_')").max(128);

/**
 * What a function's repository may say about it. Values of env vars and secrets are never in
 * the repository: `env` only names the ones the code needs, and a deploy refuses to go live
 * while one of them is set neither as a variable nor as a secret. `schedules` is the function's
 * whole set of cron schedules, as `PUT …/schedules` takes it (ADR 0019).
 */
export const repoConfigSchema = z.strictObject({
  entry: z.string().min(1).max(512).optional(),
  runtime: z.enum(["workerd", "container"]).optional(),
  visibility: z.enum(["private", "public"]).optional(),
  env: z.array(envName).max(256).optional(),
  limits: limitsSchema.optional(),
  scale: scaleSchema.optional(),
  schedules: schedulesSchema.optional(),
});

/** A validated repository config, and the file it came from. */
export interface RepoConfig {
  file: (typeof repoConfigFiles)[number];
  entry: string | undefined;
  /** Env names the function needs; their values come from the API. */
  env: string[];
  /** The function settings it sets; absent ones keep their value. */
  settings: FunctionSettings;
  /** The function's schedules, replacing its set when given; absent: left as they are. */
  schedules: ScheduleSpec[] | undefined;
}

/**
 * Reads `isle.json` or `isle.toml` from the top of a function's sources, if there is one.
 * Every problem is a `validation_failed` naming the file and the key, e.g.
 * `isle.toml: limits.timeoutMs: Too big: expected number to be <=900000`.
 */
export function readRepoConfig(files: readonly SourceFile[]): RepoConfig | undefined {
  const found = files.filter((f) => (repoConfigFiles as readonly string[]).includes(f.path.replace(/^\.\//, "")));
  if (found.length > 1) throw new IsleError("validation_failed", "both isle.json and isle.toml are present; keep one");
  const source = found[0];
  if (!source) return undefined;
  const file = source.path.replace(/^\.\//, "") as RepoConfig["file"];
  const text = Buffer.from(source.content).toString("utf8");
  const parsed = repoConfigSchema.safeParse(parseText(file, text));
  if (!parsed.success) throw new IsleError("validation_failed", `${file}: ${describe(parsed.error)}`);
  const { entry, env, runtime, visibility, limits, scale, schedules } = parsed.data;
  const settings: FunctionSettings = {};
  if (runtime !== undefined) settings.runtime = runtime;
  if (visibility !== undefined) settings.visibility = visibility;
  if (limits !== undefined) settings.limits = limits;
  if (scale !== undefined) settings.scale = scale;
  return { file, entry, env: env ?? [], settings, schedules };
}

/**
 * The env names the config asks for that are set neither as an env var nor as a secret of the
 * function: a deploy with any of them missing would go live broken, so it is refused.
 */
export function checkRequiredEnv(config: RepoConfig, setNames: Iterable<string>): void {
  const set = new Set(setNames);
  const missing = config.env.filter((name) => !set.has(name));
  if (missing.length === 0) return;
  const list = missing.join(", ");
  throw new IsleError(
    "validation_failed",
    `${config.file}: env: ${list} ${missing.length > 1 ? "are" : "is"} not set; set ${missing.length > 1 ? "them" : "it"} as env vars (PUT …/functions/:function) or secrets (PUT …/secrets/:name) first`,
  );
}

function parseText(file: RepoConfig["file"], text: string): unknown {
  try {
    return file === "isle.json" ? JSON.parse(text) : parseToml(text);
  } catch (err) {
    // Both parsers say where: JSON gives the position, smol-toml the line and column.
    const reason = err instanceof Error ? err.message.split("\n")[0] : "malformed";
    throw new IsleError("validation_failed", `${file}: not valid ${file === "isle.json" ? "JSON" : "TOML"}: ${reason}`);
  }
}

function describe(error: ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  const where = issue.path.length > 0 ? issue.path.join(".") : "the top level";
  if (issue.code === "unrecognized_keys") return `${where}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  return `${where}: ${issue.message}`;
}
