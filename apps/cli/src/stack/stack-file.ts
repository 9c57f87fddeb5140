import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { schedulesSchema, type ScheduleSpec } from "@isle/schedules";
import { LineCounter, isMap, isScalar, parseDocument } from "yaml";
import { CliError, exitCodes } from "../http/cli-error.js";

/** One function of a stack file, with its directory resolved against the file's. */
export interface StackFunction {
  name: string;
  /** Absolute directory of its sources. */
  dir: string;
  entry?: string;
  runtime?: "workerd" | "container";
  visibility?: "private" | "public";
  env?: Record<string, string>;
  limits?: Record<string, number>;
  scale?: Record<string, number>;
  /** Cron schedules: the function's whole set (an empty list removes them); absent leaves them be. */
  schedules?: ScheduleSpec[];
}

/** A parsed `isle.yaml`: several functions of one tenant, deployed together. */
export interface StackFile {
  path: string;
  tenant?: string;
  functions: StackFunction[];
}

const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const limitKeys = ["timeoutMs", "cpuMs", "memoryMb", "maxRequestBytes", "maxResponseBytes", "subrequests", "concurrency"];
const scaleKeys = ["min", "max", "targetConcurrency", "idleSeconds"];
const functionKeys = ["path", "entry", "runtime", "visibility", "env", "limits", "scale", "schedules"];

/** A stack file's mistake, naming the file, line, column and key. */
class StackError extends CliError {
  constructor(message: string) {
    super(message, exitCodes.usage, "see the stack file format in docs/adr/0022-cli.md");
  }
}

/** Reads and validates a stack file; every mistake names its key (and line). */
export function loadStackFile(path: string): StackFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, exitCodes.usage);
  }
  return parseStackFile(text, path);
}

/** Validates a stack file's text; `path` names it in errors and anchors relative paths. */
export function parseStackFile(text: string, path: string): StackFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const at = lines.linePos(first.pos[0]);
    throw new StackError(`${path}:${at.line}:${at.col}: ${first.message.split("\n")[0]}`);
  }
  /** Fails naming `keys`; at the key itself (`onKey`) or at its value. */
  const fail = (keys: Array<string | number>, message: string, onKey = false): never => {
    let node = doc.getIn(keys, true) as { range?: [number, number, number] | null } | undefined;
    if (onKey && keys.length > 0) {
      const parent = keys.length > 1 ? doc.getIn(keys.slice(0, -1), true) : doc.contents;
      const pair = isMap(parent) ? parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(keys[keys.length - 1])) : undefined;
      if (pair && isScalar(pair.key)) node = pair.key;
    }
    const at = node?.range ? lines.linePos(node.range[0]) : undefined;
    throw new StackError(`${path}${at ? `:${at.line}:${at.col}` : ""}: ${keys.length ? `${keys.join(".")}: ` : ""}${message}`);
  };
  const root: unknown = doc.toJS();
  if (!isRecord(root)) return fail([], "must be a mapping with a `functions` key");
  for (const key of Object.keys(root)) if (!["version", "tenant", "functions"].includes(key)) fail([key], "unknown key (allowed: version, tenant, functions)", true);
  if (root.version !== undefined && root.version !== 1) fail(["version"], "must be 1");
  if (root.tenant !== undefined && (typeof root.tenant !== "string" || !dnsLabel.test(root.tenant))) fail(["tenant"], "must be a tenant name (a DNS label)");
  if (!isRecord(root.functions) || Object.keys(root.functions).length === 0) fail(["functions"], "must map at least one function name to its settings");
  const base = dirname(resolve(path));
  const functions = Object.entries(root.functions as Record<string, unknown>).map(([name, value]) =>
    checkFunction(name, value ?? {}, base, (keys, message, onKey) => fail(["functions", name, ...keys], message, onKey)),
  );
  return { path, ...(typeof root.tenant === "string" ? { tenant: root.tenant } : {}), functions };
}

type Fail = (keys: Array<string | number>, message: string, onKey?: boolean) => never;

function checkFunction(name: string, value: unknown, base: string, fail: Fail): StackFunction {
  if (!dnsLabel.test(name)) fail([], "a function name must be a DNS label: a-z, 0-9 and '-', at most 63 characters", true);
  if (!isRecord(value)) return fail([], "must be a mapping (path, entry, visibility, env, limits, scale)");
  for (const key of Object.keys(value)) if (!functionKeys.includes(key)) fail([key], `unknown key (allowed: ${functionKeys.join(", ")})`, true);
  const fn: StackFunction = { name, dir: resolve(base, name) };
  if (value.path !== undefined) {
    if (typeof value.path !== "string" || value.path === "") fail(["path"], "must be a directory, relative to the stack file");
    fn.dir = resolve(base, value.path as string);
  }
  if (value.entry !== undefined) {
    if (typeof value.entry !== "string" || value.entry === "") fail(["entry"], "must be a file path relative to the function's directory");
    fn.entry = value.entry as string;
  }
  if (value.runtime !== undefined) {
    if (value.runtime !== "workerd" && value.runtime !== "container") fail(["runtime"], 'must be "workerd" or "container"');
    fn.runtime = value.runtime as "workerd" | "container";
  }
  if (value.visibility !== undefined) {
    if (value.visibility !== "private" && value.visibility !== "public") fail(["visibility"], 'must be "private" or "public"');
    fn.visibility = value.visibility as "private" | "public";
  }
  if (value.env !== undefined) {
    if (!isRecord(value.env)) fail(["env"], "must map names to values");
    fn.env = {};
    for (const [key, v] of Object.entries(value.env as Record<string, unknown>)) {
      if (!envName.test(key)) fail(["env", key], "an env name is an identifier: letters, digits and '_', not starting with a digit", true);
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") fail(["env", key], "must be a string (or a number or boolean, taken as text)");
      fn.env[key] = String(v);
    }
  }
  for (const [field, keys] of [["limits", limitKeys], ["scale", scaleKeys]] as const) {
    const given = value[field];
    if (given === undefined) continue;
    if (!isRecord(given)) fail([field], `must be a mapping of ${keys.join(", ")}`);
    const out: Record<string, number> = {};
    for (const [key, v] of Object.entries(given as Record<string, unknown>)) {
      if (!keys.includes(key)) fail([field, key], `unknown key (allowed: ${keys.join(", ")})`, true);
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) fail([field, key], "must be a whole number, 0 or more");
      out[key] = v as number;
    }
    fn[field] = out;
  }
  if (value.schedules !== undefined) {
    // The platform's own schema (@isle/schedules), as the API and isle.json use it; the server
    // checks the minimum interval, which is its operator's setting.
    const parsed = schedulesSchema.safeParse(value.schedules);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      fail(["schedules", ...issue.path.map((key) => (typeof key === "symbol" ? String(key) : key))], issue.message);
    }
    fn.schedules = parsed.data;
  }
  return fn;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The functions `--filter` names (comma-separated), or all; an unknown name is an error. */
export function filterFunctions(stack: StackFile, filter: string | undefined): StackFunction[] {
  if (!filter) return stack.functions;
  const wanted = filter.split(",").map((s) => s.trim()).filter(Boolean);
  const known = new Set(stack.functions.map((f) => f.name));
  const unknown = wanted.filter((name) => !known.has(name));
  if (unknown.length) {
    throw new CliError(`${stack.path} has no function ${unknown.map((n) => JSON.stringify(n)).join(", ")}`, exitCodes.usage, `it has: ${[...known].join(", ")}`);
  }
  return stack.functions.filter((f) => wanted.includes(f.name));
}
