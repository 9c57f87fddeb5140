import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@isle/telemetry";
import { WorkerdRuntime, type WorkerdRuntimeOptions } from "./workerd-runtime.js";
import { Readable } from "node:stream";
import { artifactHash, encodeArtifact } from "@isle/proto";
import type { ArtifactSource, EnvSource, RuntimeRequest } from "../runtime.js";

/** An in-memory ArtifactSource for tests; `add` stores one function and returns its hash. */
export class MemoryArtifacts implements ArtifactSource {
  private readonly byHash = new Map<string, Buffer>();

  add(source: string, extraModules: Record<string, string> = {}): string {
    const bytes = encodeArtifact({ format: 1, mainModule: "index.js", modules: { "index.js": source, ...extraModules } });
    const hash = artifactHash(bytes);
    this.byHash.set(hash, bytes);
    return hash;
  }

  /** The hash and bytes `source` would have, without storing them (for "missing" tests). */
  hashOf(source: string): { hash: string; bytes: Buffer } {
    const bytes = encodeArtifact({ format: 1, mainModule: "index.js", modules: { "index.js": source } });
    return { hash: artifactHash(bytes), bytes };
  }

  put(hash: string, bytes: Buffer): void {
    this.byHash.set(hash, bytes);
  }

  async get(hash: string): Promise<Buffer> {
    const bytes = this.byHash.get(hash);
    if (!bytes) throw Object.assign(new Error(`no artifact ${hash}`), { code: "not_found" });
    return bytes;
  }
}

/** An in-memory EnvSource for tests: env by reference; unknown references get an empty env. */
export class MemoryEnv implements EnvSource {
  readonly byRef = new Map<string, Record<string, string>>();

  async get(ref: string): Promise<Record<string, string>> {
    return this.byRef.get(ref) ?? {};
  }
}

/** A RuntimeRequest for `isolate` (tenant:deployment:hash) with sensible defaults. */
export function runtimeRequest(
  tenant: string,
  hash: string,
  path: string,
  init: Partial<Pick<RuntimeRequest, "method" | "headers" | "body" | "signal" | "envRef" | "egress">> = {},
): RuntimeRequest {
  const envRef = init.envRef ?? `${tenant}:fn-1:v1`;
  return {
    isolateId: `${tenant}:dep-1:${hash}:${envRef.split(":")[2]}`,
    artifactHash: hash,
    envRef,
    invocationId: `inv-${Math.random().toString(36).slice(2)}`,
    method: init.method ?? "GET",
    url: `https://fn.example.test${path}`,
    headers: init.headers ?? [],
    body: init.body ?? null,
    signal: init.signal ?? new AbortController().signal,
    ...(init.egress ? { egress: init.egress } : {}),
  };
}

/** Reads a body whole as text (small bodies only). */
export async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A request body of `totalBytes` in 64 KB chunks made on demand, with the
 * SHA-256 of what it produced so far, so nothing ever holds it whole.
 */
export function generatedBody(totalBytes: number): { stream: Readable; digest: () => string; sent: () => number } {
  const hash = createHash("sha256");
  let sent = 0;
  let counter = 0;
  const stream = new Readable({
    read() {
      if (sent >= totalBytes) {
        this.push(null);
        return;
      }
      const size = Math.min(64 * 1024, totalBytes - sent);
      const chunk = Buffer.allocUnsafe(size);
      // Varying content, so a dropped or repeated chunk changes the hash.
      for (let i = 0; i < size; i += 4) chunk.writeUInt32LE((counter++ * 2654435761) >>> 0, i);
      hash.update(chunk);
      sent += size;
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest("hex"), sent: () => sent };
}

/** A started WorkerdRuntime in a fresh work directory, and how to stop it and remove the directory. */
export async function startTestRuntime(
  options: Omit<WorkerdRuntimeOptions, "workDir" | "logger" | "env"> & { env?: EnvSource },
): Promise<{ runtime: WorkerdRuntime; stop(): Promise<void> }> {
  const workDir = await mkdtemp(join(tmpdir(), "isle-wd-"));
  const runtime = new WorkerdRuntime({
    env: new MemoryEnv(),
    ...options,
    workDir,
    logger: createLogger({ service: "agent-test", level: "silent" }),
  });
  await runtime.start();
  return {
    runtime,
    async stop() {
      await runtime.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
