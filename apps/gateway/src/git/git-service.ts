import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FunctionRow, Tenant } from "@isle/db";
import type { Logger } from "@isle/telemetry";
import { gitEnv } from "./git-command.js";
import { runHttpBackend } from "./http-backend.js";
import { postReceive, preReceive, type HookInput, type PushSession, type ReceiveDeps } from "./receive.js";
import { ensureRepository, platformGitConfig, repositoryPath } from "./repositories.js";

export interface GitServiceOptions extends ReceiveDeps {
  /** Where repositories live: `<ISLE_DATA_DIR>/git`. */
  root: string;
  /** The largest pack a push may send. */
  maxPackBytes: number;
  /** The longest a push may take, build included. */
  timeoutMs?: number;
  logger: Logger;
}

/** One smart-HTTP request, authorised by the route. */
export interface GitRequest {
  tenant: Tenant;
  fn: FunctionRow;
  /** The key that pushes or fetches. */
  keyId: string;
  /** `info/refs`, `git-upload-pack` or `git-receive-pack`. */
  action: string;
  query: string;
  request: Request;
  remoteAddr: string | undefined;
  origin: string;
}

const maxHookInput = 1024 * 1024;

/**
 * Serves the functions' git repositories and runs their pushes' builds. Git's hooks are the
 * platform's own, in a private directory; they reach this service over a Unix socket beside
 * them and name their push by a one-time token that only the git processes of that push know.
 */
export class GitService {
  private readonly sessions = new Map<string, PushSession>();

  private constructor(
    private readonly options: GitServiceOptions,
    private readonly runDir: string,
    private readonly hooksDir: string,
    /** Where the hooks reach this service. */
    readonly socketPath: string,
    private readonly server: Server,
  ) {}

  static async start(options: GitServiceOptions): Promise<GitService> {
    // mkdtemp makes it 0700: only the gateway's user reaches the socket and the hooks.
    const runDir = await mkdtemp(join(tmpdir(), "isle-git-"));
    const hooksDir = join(runDir, "hooks");
    await mkdir(hooksDir);
    const client = fileURLToPath(new URL("./hook-client.js", import.meta.url));
    for (const hook of ["pre-receive", "post-receive"]) {
      const script = `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(client)} ${hook}\n`;
      await writeFile(join(hooksDir, hook), script);
      await chmod(join(hooksDir, hook), 0o700);
    }
    const socketPath = join(runDir, "hooks.sock");
    let service: GitService | undefined;
    const server = createServer((req, res) => void service?.hook(req, res));
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(socketPath, done);
    });
    service = new GitService(options, runDir, hooksDir, socketPath, server);
    return service;
  }

  /** Serves one request: fetches as they are, pushes through the build. */
  async serve(req: GitRequest): Promise<Response> {
    const repoDir = repositoryPath(this.options.root, req.tenant.id, req.fn.id);
    await ensureRepository(repoDir);
    const token = randomBytes(32).toString("hex");
    const pushing = req.action === "git-receive-pack";
    if (pushing) this.sessions.set(token, { tenant: req.tenant, fn: req.fn, repoDir, origin: req.origin, built: new Map() });
    const url = new URL(req.request.url);
    return runHttpBackend({
      method: req.request.method,
      pathInfo: `/${req.fn.id}.git/${req.action}`,
      projectRoot: join(this.options.root, req.tenant.id),
      query: url.search.slice(1),
      headers: req.request.headers,
      body: req.request.body,
      remoteUser: req.keyId,
      remoteAddr: req.remoteAddr,
      maxBodyBytes: this.options.maxPackBytes,
      env: gitEnv({
        ...platformGitConfig({ hooksDir: this.hooksDir, maxPackBytes: this.options.maxPackBytes }),
        ISLE_GIT_HOOK_SOCKET: this.socketPath,
        ISLE_GIT_PUSH_TOKEN: pushing ? token : "",
      }),
      timeoutMs: this.options.timeoutMs ?? 15 * 60_000,
      logger: this.options.logger,
      onExit: () => this.sessions.delete(token),
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((done) => this.server.close(() => done()));
    await rm(this.runDir, { recursive: true, force: true });
  }

  /** A hook's call: the push's token, then pre-receive or post-receive, answered line by line. */
  private async hook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (message: { line?: string; exit?: number }) => res.write(`${JSON.stringify(message)}\n`);
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    try {
      const body = await readJson(req);
      const session = typeof body.token === "string" && body.token !== "" ? this.sessions.get(body.token) : undefined;
      if (!session) {
        send({ line: "isle: unknown push" });
        send({ exit: 1 });
        return;
      }
      const input: HookInput = {
        updates: String(body.updates ?? ""),
        pushOptions: Array.isArray(body.pushOptions) ? body.pushOptions.map(String) : [],
        quarantine: typeof body.quarantine === "string" ? body.quarantine : null,
      };
      const say = (line: string) => send({ line });
      const run = body.hook === "pre-receive" ? preReceive : body.hook === "post-receive" ? postReceive : undefined;
      const log = this.options.logger.child({ tenantId: session.tenant.id, functionId: session.fn.id, hook: body.hook });
      if (!run) {
        send({ exit: 1 });
        return;
      }
      const code = await run(this.options, session, input, say).catch((err: unknown) => {
        log.error({ err }, "git hook failed");
        say("isle: internal error; the push is refused");
        return 1;
      });
      log.info({ code }, "git hook done");
      send({ exit: code });
    } catch {
      send({ line: "isle: malformed hook call" });
      send({ exit: 1 });
    } finally {
      res.end();
    }
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxHookInput) throw new Error("hook input too large");
    chunks.push(chunk as Buffer);
  }
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  if (!value || typeof value !== "object") throw new Error("not an object");
  return value as Record<string, unknown>;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
