import { spawn } from "node:child_process";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { Logger } from "@isle/telemetry";

export interface CgiRequest {
  method: string;
  /** `/<functionId>.git/info/refs` and the like, under `projectRoot`. */
  pathInfo: string;
  projectRoot: string;
  query: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  /** Who pushes (the key id): git http-backend allows receive-pack only with one. */
  remoteUser: string;
  remoteAddr: string | undefined;
  /** Largest request body accepted; more and the push is cut off with 413. */
  maxBodyBytes: number;
  /** Extra environment for git and its hooks (the platform's config, the push token). */
  env: NodeJS.ProcessEnv;
  /** The longest a request may run, build included. */
  timeoutMs: number;
  logger: Logger;
  /** Called once the git processes are gone, however the request ended. */
  onExit?: () => void;
}

/**
 * Serves one smart-HTTP request with the system's `git http-backend` (CGI), streaming both
 * bodies: the request body goes to its stdin as it arrives (counted, and cut off past the cap),
 * its stdout becomes the response. The answer is held until the request body is all in, so a
 * push over the cap is a clean 413 rather than a torn stream; git writes nothing before it has
 * read the pack. A client gone mid-upload (or over the cap) ends git's input there: git refuses
 * the truncated pack, drops its quarantined objects and moves no ref. A client gone after the
 * upload leaves git to finish, so a push either completes — ref, deployment and all — or not at
 * all. Git runs in its own process group, killed whole when it overruns `timeoutMs`.
 */
export async function runHttpBackend(req: CgiRequest): Promise<Response> {
  const env: NodeJS.ProcessEnv = {
    ...req.env,
    GIT_PROJECT_ROOT: req.projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    PATH_INFO: req.pathInfo,
    REQUEST_METHOD: req.method,
    QUERY_STRING: req.query,
    REMOTE_USER: req.remoteUser,
    REMOTE_ADDR: req.remoteAddr ?? "127.0.0.1",
    CONTENT_TYPE: req.headers.get("content-type") ?? "",
  };
  const length = req.headers.get("content-length");
  if (length !== null) env["CONTENT_LENGTH"] = length;
  const encoding = req.headers.get("content-encoding");
  if (encoding) env["HTTP_CONTENT_ENCODING"] = encoding;
  const protocol = req.headers.get("git-protocol");
  if (protocol) env["HTTP_GIT_PROTOCOL"] = protocol;
  if (length !== null && Number(length) > req.maxBodyBytes) return tooLarge(req.maxBodyBytes);

  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"], detached: true });
  let exited = false;
  const exit = once(child, "close").then(() => {
    exited = true;
    clearTimeout(timer);
    req.onExit?.();
  });
  const killGroup = () => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    req.logger.warn({ pathInfo: req.pathInfo }, "git request over its time limit; killed");
    killGroup();
  }, req.timeoutMs);
  child.on("error", (err) => req.logger.error({ err }, "git http-backend failed to start"));
  child.stderr.on("data", (chunk: Buffer) => req.logger.warn({ stderr: String(chunk).trim().slice(0, 2000) }, "git http-backend"));

  const upload = pump(req.body, child.stdin, req.maxBodyBytes);
  const head = readCgiHead(child.stdout);
  const sent = await upload;
  if (sent !== "done") {
    // Git's input ends mid-pack: it fails the unpack and removes its quarantine itself, where a
    // signal would leave the half-received objects on disk. The kill is for a git that hangs.
    child.stdin.end();
    child.stdout.removeAllListeners("readable");
    child.stdout.on("data", () => undefined);
    child.stdout.resume();
    const grace = setTimeout(killGroup, 5000);
    await exit;
    clearTimeout(grace);
    // A client that went away gets no answer worth writing; one over the cap is told why.
    return sent === "too_large" ? tooLarge(req.maxBodyBytes) : new Response(null, { status: 400 });
  }
  const parsed = await head;
  if (!parsed) {
    await exit;
    return new Response("git failed\n", { status: 500, headers: { "content-type": "text/plain" } });
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (parsed.rest.length > 0) controller.enqueue(new Uint8Array(parsed.rest));
    },
    async pull(controller) {
      const chunk = await nextChunk(child.stdout);
      if (chunk === undefined) controller.close();
      else controller.enqueue(new Uint8Array(chunk));
    },
    cancel() {
      // The client left after its upload: let git finish (the push completes or is refused as a
      // whole), reading what it writes so it never blocks on a full pipe.
      child.stdout.removeAllListeners("readable");
      child.stdout.on("data", () => undefined);
      child.stdout.resume();
    },
  });
  return new Response(body, { status: parsed.status, headers: parsed.headers });
}

function tooLarge(max: number): Response {
  return new Response(`the push is over the size limit of ${max} bytes\n`, { status: 413, headers: { "content-type": "text/plain" } });
}

/** Copies the request body to git's stdin with backpressure, counting bytes. */
async function pump(body: ReadableStream<Uint8Array> | null, stdin: Writable, max: number): Promise<"done" | "too_large" | "aborted"> {
  stdin.on("error", () => undefined);
  if (!body) {
    stdin.end();
    return "done";
  }
  const reader = body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        return "too_large";
      }
      if (!stdin.write(value)) await Promise.race([once(stdin, "drain"), once(stdin, "close")]);
    }
  } catch {
    return "aborted";
  }
  stdin.end();
  return "done";
}

interface CgiHead {
  status: number;
  headers: Headers;
  rest: Buffer;
}

/** Reads the CGI header block from git's stdout; what follows it is the response body. */
async function readCgiHead(stdout: Readable): Promise<CgiHead | undefined> {
  let buffered = Buffer.alloc(0);
  for (;;) {
    const end = headEnd(buffered);
    if (end) {
      const headers = new Headers();
      let status = 200;
      for (const line of buffered.subarray(0, end.at).toString("latin1").split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
        else headers.append(name, value);
      }
      return { status, headers, rest: buffered.subarray(end.at + end.length) };
    }
    const chunk = await nextChunk(stdout);
    if (chunk === undefined) return undefined;
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length > 64 * 1024) return undefined;
  }
}

function headEnd(buffer: Buffer): { at: number; length: number } | undefined {
  const crlf = buffer.indexOf("\r\n\r\n");
  const lf = buffer.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

/** The next chunk of a paused stream, or undefined at its end. */
function nextChunk(stream: Readable): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) return resolve(chunk);
    if (stream.readableEnded || stream.destroyed) return resolve(undefined);
    const cleanup = () => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("close", onEnd);
    };
    const onReadable = () => {
      const next = stream.read() as Buffer | null;
      if (next === null) return;
      cleanup();
      resolve(next);
    };
    const onEnd = () => {
      cleanup();
      resolve(undefined);
    };
    stream.on("readable", onReadable);
    stream.on("end", onEnd);
    stream.on("close", onEnd);
  });
}
