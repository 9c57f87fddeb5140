import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { rm } from "node:fs/promises";
import { decodeArtifact } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import type { ArtifactSource, EnvSource } from "../runtime.js";

/** A running artifact server; `close()` stops it and removes its socket. */
export interface ArtifactServer {
  close(): Promise<void>;
}

/** Hashes are hex SHA-256 in practice; anything path-like is refused. */
const artifactPath = /^\/artifacts\/([A-Za-z0-9_-]{1,128})$/;
/** Env references are ids and a version joined by colons (percent-encoded in the path). */
const envPath = /^\/env\/([A-Za-z0-9_%:.-]{1,256})$/;

/**
 * Serves `GET /artifacts/<hash>` from an {@link ArtifactSource} and
 * `GET /env/<ref>` from an {@link EnvSource} on a Unix socket. workerd's supervisors reach it through their ARTIFACTS service
 * binding when the Worker Loader needs an isolate's code, so code travels
 * from the agent's cache to workerd and never inside a request.
 */
export async function startArtifactServer(options: {
  socketPath: string;
  artifacts: ArtifactSource;
  env: EnvSource;
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

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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

/** Whether an ArtifactSource error means "no such artifact" rather than a fault. */
function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "not_found" || code === "ENOENT";
}
