import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { rm } from "node:fs/promises";
import { decodeArtifact } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import type { EgressQuery, EgressVerdict } from "../../egress/egress-policy.js";
import type { ArtifactSource, EnvSource } from "../runtime.js";

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
 * Serves `GET /artifacts/<hash>` from an {@link ArtifactSource},
 * `GET /env/<ref>` from an {@link EnvSource} and `POST /egress` (may this
 * outbound request leave?) from the egress policy, on a Unix socket. workerd's supervisors reach it through their ARTIFACTS service
 * binding when the Worker Loader needs an isolate's code, so code travels
 * from the agent's cache to workerd and never inside a request.
 */
export async function startArtifactServer(options: {
  socketPath: string;
  artifacts: ArtifactSource;
  env: EnvSource;
  egress: { decide(query: EgressQuery): Promise<EgressVerdict> };
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
    const query = parseEgressQuery(await readSmallBody(req, maxEgressQueryBytes));
    if (!query) {
      res.writeHead(400).end();
      return;
    }
    const body = Buffer.from(JSON.stringify(await options.egress.decide(query)));
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === "POST" && req.url === "/egress") return handleEgress(req, res);
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

/** The body of a request, or undefined when it is longer than `max` bytes. */
async function readSmallBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The supervisor's question, checked field by field: it comes from workerd, not from us. */
function parseEgressQuery(text: string | undefined): EgressQuery | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const q = value as Partial<Record<keyof EgressQuery, unknown>> | null;
  if (!q || typeof q.isolateId !== "string" || typeof q.target !== "string") return undefined;
  if (q.kind !== "fetch" && q.kind !== "connect" && q.kind !== "call") return undefined;
  const invocationId = typeof q.invocationId === "string" ? q.invocationId : null;
  return { isolateId: q.isolateId, invocationId, kind: q.kind, target: q.target };
}

/** Whether an ArtifactSource error means "no such artifact" rather than a fault. */
function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "not_found" || code === "ENOENT";
}
