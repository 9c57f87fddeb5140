import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";

/** A watchdog started as a real process on the host, serving on `socket`. */
export interface RunningWatchdog {
  socket: string;
  /** Everything the process wrote to stderr so far: the function's logs. */
  logs(): string;
  /**
   * The logs once they contain `text`. The pipe from the process is read on its own schedule, so a
   * line written before a response was sent can arrive here after that response.
   */
  logsWith(text: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts `command` and resolves once its socket exists; rejects with its logs if it exits first. */
export async function startWatchdog(command: string, args: string[], socket: string, env: Record<string, string>): Promise<RunningWatchdog> {
  const child: ChildProcess = spawn(command, args, { env, stdio: ["ignore", "inherit", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  let exited: string | undefined;
  child.on("exit", (code, signal) => (exited = `exited with ${code ?? signal}`));
  child.on("error", (error) => (exited = `could not start ${command}: ${error.message}`));
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (exited) throw new Error(`the watchdog ${exited} before listening:\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`no socket at ${socket} after 10 s:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    socket,
    logs: () => stderr,
    async logsWith(text, timeoutMs = 5_000) {
      for (const until = Date.now() + timeoutMs; !stderr.includes(text) && Date.now() < until; ) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return stderr;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

export interface SocketResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP/1.1 request over a Unix socket, as the agent will send it. */
export function request(
  socket: string,
  { method = "GET", path = "/", headers = {}, body }: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<SocketResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const sent = httpRequest(
      { socketPath: socket, method, path, headers: { ...headers, ...(payload ? { "content-length": String(payload.length) } : {}) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on("error", reject);
      },
    );
    sent.on("error", reject);
    sent.end(payload);
  });
}
