import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, watch, type FSWatcher } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Context, type CliIo } from "../context.js";
import { deployDirectory, nameFromDir } from "../deploy/upload.js";
import { loadStackFile, type StackFunction } from "../stack/stack-file.js";
import { defaultStackFile, settingsOf } from "../commands/deploy.js";
import { CliError, describeFailure, exitCodes, usageError } from "../http/cli-error.js";
import { IsleClient } from "../http/client.js";
import { findCheckout, freePort } from "./checkout.js";
import { formatEntry, serverSentEvents } from "../commands/logs.js";
import { functionUrl, type LogEntry } from "../commands/views.js";

export interface DevOptions {
  remote?: boolean;
  name?: string;
  entry?: string;
  port?: string;
  verbose?: boolean;
}

const devTenant = "dev";
/** Saves come in bursts (editors write a temp file, then rename): wait for quiet first. */
const debounceMs = 250;

/**
 * `isle dev [dir]`: runs the function on a private single-node Isle — the same gateway, sidecar,
 * agent and workerd as production, started by scripts/start.mjs on a scratch data directory
 * and free ports — deploys it, and deploys again on every save. With `--remote`, the profile's
 * gateway and tenant instead of a local Isle. Its URL goes to stdout; the function's log lines
 * and each redeploy go to stderr. Ctrl-C stops it all and removes the local data.
 */
export async function runDev(ctx: Context, io: CliIo, dirArg: string, options: DevOptions): Promise<void> {
  const dir = resolve(io.cwd, dirArg);
  const name = options.name ?? nameFromDir(dir);
  if (!name) throw usageError(`cannot name the function after ${dir}`, "give one with --name <function>");
  const target = options.remote ? await remoteTarget(ctx) : await localTarget(io, options);
  try {
    const deploy = serially(async () => {
      try {
        // The directory's isle.yaml settings (env, limits), re-read each time; a local
        // function is public, since it is called without a key.
        const fromStack = stackEntry(dir, name);
        const settings = { ...(fromStack ? settingsOf(fromStack) : {}), ...(options.remote ? {} : { visibility: "public" }) };
        await deployDirectory(target.ctx, { name, dir, entry: options.entry ?? fromStack?.entry, settings, message: "isle dev" });
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        for (const line of describeFailure(err)) ctx.note(line);
      }
    });
    await deploy();
    ctx.out(functionUrl(target.url, target.tenant, name));
    ctx.note(`watching ${dir}; Ctrl-C stops`);
    const logs = followLogs(target.ctx.client(), `/v1/tenants/${encodeURIComponent(target.tenant)}/functions/${encodeURIComponent(name)}/logs`, (entry) =>
      ctx.note(formatEntry(entry)),
    );
    await new Promise<void>((done) => {
      const watcher = watchDir(dir, () => void deploy());
      const finish = () => {
        watcher.close();
        logs.abort();
        target.local?.process.off("exit", died);
        done();
      };
      const died = () => {
        ctx.note("isle dev: the local Isle stopped");
        ctx.note(target.local?.tail().join("\n") ?? "");
        finish();
      };
      process.once("SIGINT", finish);
      process.once("SIGTERM", finish);
      target.local?.process.once("exit", died);
    });
  } finally {
    await target.local?.stop();
  }
}

/** Where `isle dev` deploys: a context for it, the gateway's URL and tenant, and the local Isle if any. */
interface DevTarget {
  ctx: Context;
  url: string;
  tenant: string;
  local?: LocalIsle;
}

async function remoteTarget(ctx: Context): Promise<DevTarget> {
  return { ctx, url: ctx.client().baseUrl, tenant: await ctx.tenant() };
}

async function localTarget(io: CliIo, options: DevOptions): Promise<DevTarget> {
  const root = findCheckout();
  if (!existsSync(join(root, "apps", "gateway", "dist", "main.js"))) {
    throw new CliError("Isle is not built in this checkout", exitCodes.config, "run `npm run build` (or `isle up` once)");
  }
  const local = await startLocalIsle(root, io, options);
  try {
    const ctx = new Context({ ...io, env: { ...io.env, ISLE_URL: local.url, ISLE_API_KEY: local.token, ISLE_PROFILE: undefined } }, { tenant: devTenant });
    await ctx.client().json("POST", "/v1/tenants", { json: { name: devTenant } });
    return { ctx, url: local.url, tenant: devTenant, local };
  } catch (err) {
    await local.stop();
    throw err;
  }
}

/**
 * `run` made to never overlap itself: a call while it runs schedules one more run after it (saves
 * during a deploy are deployed next, once), and the promise settles when that run is done.
 */
export function serially(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;
  const start = (): Promise<void> => {
    running = run().finally(() => {
      running = undefined;
    });
    return running;
  };
  return () => {
    if (!running) return start();
    again ??= running.then(() => {
      again = undefined;
      return start();
    });
    return again;
  };
}

/** The entry of `dir/isle.yaml` for this function, if the directory has one naming it. */
function stackEntry(dir: string, name: string): StackFunction | undefined {
  const path = join(dir, defaultStackFile);
  if (!existsSync(path)) return undefined;
  return loadStackFile(path).functions.find((fn) => fn.name === name && fn.dir === dir);
}

/** Calls `onChange` after a burst of changes under `dir` settles, ignoring .git and node_modules. */
function watchDir(dir: string, onChange: () => void): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  return watch(dir, { recursive: true }, (_event, file) => {
    const path = String(file ?? "");
    if (/(^|[/\\])(\.git|node_modules|\.isle)([/\\]|$)/.test(path)) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
}

/** Follows the function's logs until aborted; reconnects after the function is first deployed. */
function followLogs(client: IsleClient, path: string, print: (entry: LogEntry) => void): AbortController {
  const abort = new AbortController();
  void (async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await client.request("GET", path, { query: { follow: "1", limit: 1 }, signal: abort.signal });
        if (res.body) for await (const event of serverSentEvents(res.body)) if (event.event === "log") print(JSON.parse(event.data) as LogEntry);
      } catch {
        // not deployed yet, or the local Isle restarting: try again shortly
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return abort;
}

interface LocalIsle {
  url: string;
  token: string;
  process: ChildProcess;
  tail(): string[];
  stop(): Promise<void>;
}

/** scripts/start.mjs on a scratch data directory and free ports, with a fresh operator token. */
async function startLocalIsle(root: string, io: CliIo, options: DevOptions): Promise<LocalIsle> {
  const dataDir = mkdtempSync(join(tmpdir(), "isle-dev-"));
  const port = options.port ?? String(await freePort());
  const token = randomBytes(24).toString("hex");
  const env = {
    ...io.env,
    ISLE_DATA_DIR: dataDir,
    ISLE_HOST: "127.0.0.1",
    ISLE_PORT: port,
    ISLE_CONTROL_PORT: String(await freePort()),
    ISLE_SIDECAR_PORT: String(await freePort()),
    ISLE_AGENT_METRICS_PORT: "off",
    ISLE_ADMIN_TOKEN: token,
    ISLE_SKIP_SETUP: "1",
    ISLE_WORKERD_PROCESSES: io.env.ISLE_WORKERD_PROCESSES ?? "1",
  };
  const child = spawn(process.execPath, [join(root, "scripts", "start.mjs")], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of String(chunk).split("\n").filter(Boolean)) {
      if (options.verbose) io.stderr.write(`${line}\n`);
      lines.push(line);
      if (lines.length > 40) lines.shift();
    }
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  io.stderr.write(`starting a local Isle at ${url}…\n`);
  const until = Date.now() + 90_000;
  // Ready once start.mjs has deployed its demo and printed its banner: every part is up.
  while (!lines.some((l) => l.startsWith("Isle is running at"))) {
    if (child.exitCode !== null || Date.now() > until) {
      await stop();
      throw new CliError("the local Isle did not start", exitCodes.api, lines.slice(-15).join("\n"));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, token, process: child, tail: () => lines.slice(-15), stop };
}
