import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import type { Command } from "commander";
import type { CliIo, Context } from "../context.js";
import { CliError, exitCodes, parseServerError, serverError, usageError } from "../http/cli-error.js";
import { errorOf } from "../http/client.js";
import { readAll } from "../terminal/input.js";
import { action, repeatable, type JsonOption } from "./action.js";

interface InvokeOptions extends JsonOption {
  method?: string;
  data?: string;
  header: string[];
  include?: boolean;
  async?: boolean;
  idempotencyKey?: string;
  callbackUrl?: string;
  wait?: boolean;
}

/** `isle invoke <function> [path]`: the function's answer on stdout, or with --async its invocation id. */
export function register(program: Command, io: CliIo): void {
  program
    .command("invoke")
    .description("call a function with the profile's key (needs the invoke scope); its body goes to stdout")
    .argument("<function>")
    .argument("[path]", "the path and query after the function, e.g. /users?limit=2", "/")
    .option("-X, --method <method>", "the HTTP method (default: GET, or POST with data)")
    .option("-d, --data <data>", "the request body; @file reads a file, @- reads stdin")
    .option("-H, --header <name: value>", "a request header; repeat for several", repeatable, [])
    .option("-i, --include", "print the status and response headers on stderr")
    .option("--async", "queue the invocation; prints its id")
    .option("--idempotency-key <key>", "with --async: the same key gives the same invocation for 24 h")
    .option("--callback-url <url>", "with --async: where the result is POSTed")
    .option("--wait", "with --async: wait until the invocation succeeded, failed or went dead, and say which")
    .option("--json", "with --async: print { invocationId, location } as JSON (with --wait: the record)")
    .action(
      action<InvokeOptions, [string, string]>(io, async (ctx, [fn, path], options) => {
        const headers = parseHeaders(options.header);
        const body = options.data === undefined ? undefined : await readData(io, options.data);
        const method = (options.method ?? (body === undefined ? (options.async ? "POST" : "GET") : "POST")).toUpperCase();
        const suffix = path.startsWith("/") ? path : `/${path}`;
        const tenant = encodeURIComponent(await ctx.tenant());
        if (options.async) {
          if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
          if (options.callbackUrl) headers["x-callback-url"] = options.callbackUrl;
          return invokeAsync(ctx, `/async/${tenant}/${encodeURIComponent(fn)}${suffix}`, method, headers, body, options);
        }
        if (options.idempotencyKey || options.callbackUrl || options.wait) throw usageError("--idempotency-key, --callback-url and --wait go with --async");
        const res = await ctx.client().request(method, `/fn/${tenant}/${encodeURIComponent(fn)}${suffix}`, { headers, allowErrors: true, ...(body ? { body } : {}) });
        if (options.include) {
          ctx.note(`HTTP ${res.status} ${res.statusText}`);
          for (const [name, value] of res.headers) ctx.note(`${name}: ${value}`);
        }
        if (res.status >= 400) await throwIfIsleError(res);
        if (res.body) await res.body.pipeTo(Writable.toWeb(stdoutOf(io)));
        if (res.status >= 400) {
          throw new CliError(`the function answered ${res.status} ${res.statusText} (invocation ${res.headers.get("x-isle-invocation-id") ?? "?"})`, exitCodes.api);
        }
      }),
    );
}

async function invokeAsync(ctx: Context, path: string, method: string, headers: Record<string, string>, body: Uint8Array<ArrayBuffer> | undefined, options: InvokeOptions) {
  const res = await ctx.client().request(method, path, { headers, ...(body ? { body } : {}) });
  const { invocationId } = (await res.json()) as { invocationId: string };
  const location = res.headers.get("location");
  if (!options.wait) {
    if (options.json) return ctx.json({ invocationId, location });
    ctx.out(invocationId);
    ctx.note(`queued; \`isle logs\` shows its output, ${location ?? "GET …/invocations/<id>"} its record`);
    return;
  }
  const record = await waitForRecord(ctx, invocationId);
  if (options.json) ctx.json(record);
  else {
    ctx.out(invocationId);
    ctx.note(`${record.status}${record.httpStatus ? ` (HTTP ${record.httpStatus})` : ""} after ${record.attempt} attempt${record.attempt === 1 ? "" : "s"}${record.errorCode ? `: ${record.errorCode}` : ""}`);
  }
  if (record.status !== "succeeded") throw new CliError(`the invocation ${record.status}`, exitCodes.api, "`isle logs <function> --status failed` shows its output");
}

interface InvocationRecord {
  id: string;
  status: string;
  httpStatus: number | null;
  attempt: number;
  errorCode: string | null;
}

/** The record once its status is final; before the first attempt starts there is none (404). */
async function waitForRecord(ctx: Context, id: string): Promise<InvocationRecord> {
  const path = await ctx.tenantPath(`/invocations/${encodeURIComponent(id)}`);
  for (;;) {
    const res = await ctx.client().request("GET", path, { allowErrors: true });
    if (res.ok) {
      const record = (await res.json()) as InvocationRecord;
      if (["succeeded", "failed", "dead"].includes(record.status)) return record;
    } else if (res.status !== 404) throw await errorOf(res);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Gateway errors (no such function, no key, rate limited) come in Isle's error shape and get
 * the usual code and hint; any other answer is the function's own and is printed as it is.
 */
async function throwIfIsleError(res: Response): Promise<void> {
  if (!(res.headers.get("content-type") ?? "").includes("application/json")) return;
  const parsed = parseServerError(res.status, await res.clone().text());
  if (parsed?.requestId) throw serverError(parsed);
}

/** `Name: value` headers; a bad one is a usage error. */
export function parseHeaders(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(":");
    const name = line.slice(0, at).trim().toLowerCase();
    if (at <= 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw usageError(`${JSON.stringify(line)} is not a header`, 'write it as -H "Name: value"');
    out[name] = line.slice(at + 1).trim();
  }
  return out;
}

async function readData(io: CliIo, data: string): Promise<Uint8Array<ArrayBuffer>> {
  if (data === "@-") return new Uint8Array(await readAll(io.stdin));
  if (data.startsWith("@")) {
    try {
      return new Uint8Array(readFileSync(resolve(io.cwd, data.slice(1))));
    } catch (err) {
      throw usageError(`cannot read ${data.slice(1)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return new TextEncoder().encode(data);
}

/** stdout as a Node stream that the response body is piped into (and never closed). */
function stdoutOf(io: CliIo): Writable {
  return new Writable({
    write(chunk, _encoding, callback) {
      io.stdout.write(chunk as Uint8Array);
      callback();
    },
  });
}
