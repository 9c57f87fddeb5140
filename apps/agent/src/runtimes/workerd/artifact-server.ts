import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { rm } from "node:fs/promises";
import { decodeArtifact } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import type { EgressQuery, EgressVerdict } from "../../egress/egress-policy.js";
import { functionLogLevels, type LogLine, type LogSink } from "../../logs/invocation-log.js";
import type { ArtifactSource, EnvSource } from "../runtime.js";
import { internalHeaders } from "./internal-headers.js";

/** A running artifact server; `close()` stops it and removes its socket. */
export interface ArtifactServer {
  close(): Promise<void>;
}

/** Hashes are hex SHA-256 in practice; anything path-like is refused. */
const artifactPath = /^\/artifacts\/([A-Za-z0-9_-]{1,128})$/;
/** Env references are ids and a version joined by colons (percent-encoded in the path). */
const envPath = /^\/env\/([A-Za-z0-9_%:.-]{1,256})$/;
/** An egress question is a small JSON object; a URL is at most a few KiB. */
const maxEgressQueryBytes = 16 * 1024;
/**
 * One post of an invocation's output: at most 64 KiB of messages, which JSON
 * may escape to six bytes a character (`\u001b`), plus the line fields.
 */
const maxLogPostBytes = 512 * 1024;

/**
 * Serves `GET /artifacts/<hash>` from an {@link ArtifactSource},
 * `GET /env/<ref>` from an {@link EnvSource}, `POST /egress` (may this
 * outbound request leave?) from the egress policy and `POST /logs` (an
 * invocation's console output) into that invocation's log, on a Unix socket. workerd's supervisors reach it through their ARTIFACTS service
 * binding when the Worker Loader needs an isolate's code, so code travels
 * from the agent's cache to workerd and never inside a request.
 */
export async function startArtifactServer(options: {
  socketPath: string;
  artifacts: ArtifactSource;
  env: EnvSource;
  egress: { decide(query: EgressQuery): Promise<EgressVerdict> };
  /** The log of `invocationId` if it runs (or ran, within the grace) in `isolateId`. */
  logs: { sinkFor(isolateId: string, invocationId: string): LogSink | undefined };
  logger: Logger;
}): Promise<ArtifactServer> {
  const { socketPath, artifacts, logger } = options;

  async function handleEnv(ref: string, res: ServerResponse): Promise<void> {
    try {
      const body = Buffer.from(JSON.stringify(await options.env.get(ref)));
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body);
    } catch (err) {
      const missing = isMissing(err);
      // Never log the env itself: it holds secrets.
      if (!missing) logger.error({ err, envRef: ref }, "env source failed");
      res.writeHead(missing ? 404 : 502).end();
    }
  }

  async function handleEgress(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = parseEgressQuery(await readSmallJson(req, maxEgressQueryBytes));
    if (!query) {
      res.writeHead(400).end();
      return;
    }
    const body = Buffer.from(JSON.stringify(await options.egress.decide(query)));
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body);
  }

  // The isolate id comes from the supervisor (the isolate cannot set it); the
  // rest is the tenant's to write, so it is checked field by field. A post
  // for a log that keeps nothing more is not even read: parsing is the
  // agent's work, shared by every tenant.
  async function handleLogs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const isolateId = req.headers[internalHeaders.isolateId];
    const invocationId = req.headers[internalHeaders.invocation];
    const sink = typeof isolateId === "string" && typeof invocationId === "string" ? options.logs.sinkFor(isolateId, invocationId) : undefined;
    if (!sink || sink.full) {
      res.writeHead(sink ? 204 : 404).end();
      return;
    }
    const post = parseLogPost(await readSmallJson(req, maxLogPostBytes));
    if (post) sink.add(post.lines, post.truncated);
    res.writeHead(post ? 204 : 400).end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === "POST" && req.url === "/egress") return handleEgress(req, res);
    if (req.method === "POST" && req.url === "/logs") return handleLogs(req, res);
    const envMatch = req.method === "GET" ? envPath.exec(req.url ?? "") : null;
    if (envMatch?.[1] !== undefined) return handleEnv(decodeURIComponent(envMatch[1]), res);
    const match = req.method === "GET" ? artifactPath.exec(req.url ?? "") : null;
    const hash = match?.[1];
    if (hash === undefined) {
      res.writeHead(req.method === "GET" ? 404 : 405).end();
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await artifacts.get(hash);
    } catch (err) {
      const missing = isMissing(err);
      if (!missing) logger.error({ err, artifactHash: hash }, "artifact source failed");
      res.writeHead(missing ? 404 : 502).end();
      return;
    }
    try {
      // Check the shape here, where the error can be logged clearly, rather
      // than as an opaque load failure inside workerd.
      decodeArtifact(bytes);
    } catch (err) {
      logger.error({ err, artifactHash: hash }, "artifact is malformed");
      res.writeHead(422).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": bytes.length }).end(bytes);
  }

  // A socket file left by a previous run that died would make listen fail.
  await rm(socketPath, { force: true });
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, "artifact server failed");
      res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });

  return {
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}

/** The body of a request parsed as JSON; undefined when it is longer than `max` bytes or not JSON. */
async function readSmallJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > max) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** The supervisor's question, checked field by field: it comes from workerd, not from us. */
function parseEgressQuery(value: unknown): EgressQuery | undefined {
  const q = value as Partial<Record<keyof EgressQuery, unknown>> | null;
  if (!q || typeof q.isolateId !== "string" || typeof q.target !== "string") return undefined;
  if (q.kind !== "fetch" && q.kind !== "connect" && q.kind !== "call") return undefined;
  const invocationId = typeof q.invocationId === "string" ? q.invocationId : null;
  return { isolateId: q.isolateId, invocationId, kind: q.kind, target: q.target };
}

/** A post of an invocation's output, or undefined when any part of it is malformed. */
function parseLogPost(value: unknown): { lines: LogLine[]; truncated: boolean } | undefined {
  const post = value as { lines?: unknown; truncated?: unknown } | null;
  if (!post || !Array.isArray(post.lines)) return undefined;
  const lines: LogLine[] = [];
  for (const item of post.lines as unknown[]) {
    const line = item as { unixMs?: unknown; level?: unknown; message?: unknown } | null;
    if (!line || typeof line.unixMs !== "number" || !Number.isFinite(line.unixMs)) return undefined;
    if (typeof line.level !== "string" || !functionLogLevels.has(line.level) || typeof line.message !== "string") return undefined;
    lines.push({ unixMs: line.unixMs, level: line.level, message: line.message });
  }
  return { lines, truncated: post.truncated === true };
}

/** Whether an ArtifactSource error means "no such artifact" rather than a fault. */
function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "not_found" || code === "ENOENT";
}
