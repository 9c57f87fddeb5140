import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "vitest";
import { IsleError } from "@isle/errors";
import { decodeArtifact } from "@isle/proto";
import type { SourceFile } from "./source-files.js";

/** An uploaded file for tests. */
export const file = (path: string, text: string) => ({ path, content: Buffer.from(text) }) satisfies SourceFile;

/** Awaits a promise that must reject with an IsleError, and returns that error. */
export async function failure(promise: Promise<unknown>): Promise<IsleError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IsleError);
  return err as IsleError;
}

/** The default export of a bundled function: what workerd calls. */
export interface LoadedFunction {
  fetch(request: Request, env?: Record<string, string>, ctx?: unknown): Promise<Response>;
}

let loads = 0;

/**
 * Evaluates an artifact in this Node process, the way an isolate would load
 * it, for tests only. `cloudflare:workers` (external in the bundle) is
 * replaced by a module whose `env` is the given env, as workerd's would be.
 * Every load is a fresh module, but the globals it sets (Deno,
 * addEventListener) are shared, so tests load and call one at a time.
 */
export async function loadArtifact(bytes: Buffer, env: Record<string, string> = {}): Promise<LoadedFunction> {
  const manifest = decodeArtifact(bytes);
  const code = manifest.modules[manifest.mainModule];
  if (code === undefined) throw new Error("the artifact has no main module");
  const key = `__isleTestEnv${loads++}`;
  (globalThis as Record<string, unknown>)[key] = env;
  const stub = `data:text/javascript,export const env = globalThis.${key};`;
  const dir = mkdtempSync(join(tmpdir(), "isle-load-"));
  try {
    const file = join(dir, "worker.mjs");
    writeFileSync(file, code.replace(/from\s*"cloudflare:workers"/g, `from ${JSON.stringify(stub)}`));
    const mod = (await import(pathToFileURL(file).href)) as { default: LoadedFunction };
    return mod.default;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
