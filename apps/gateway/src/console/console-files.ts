import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the built console is when ISLE_CONSOLE_DIR does not say: the `dist` of the
 * `@isle/console` package as Node resolves it (the workspace, or a release's node_modules),
 * else `apps/console/dist` beside this app (this file is at the same depth in src/ and dist/).
 */
export function defaultConsoleDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("@isle/console/package.json")), "dist");
  } catch {
    return fileURLToPath(new URL("../../../console/dist", import.meta.url));
  }
}

/** One built file: its bytes and its media type. */
export interface ConsoleFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

function typeOf(path: string): string {
  const dot = path.lastIndexOf(".");
  return (dot >= 0 ? types[path.slice(dot)] : undefined) ?? "application/octet-stream";
}

/**
 * The console's built files, read into memory the first time they are asked for and kept:
 * a request can only name a file that is in the map, so no path it sends reaches the disk,
 * and a rebuild while the gateway runs cannot leave a page pointing at assets that changed
 * under it (the gateway serves the build it loaded until it restarts). While the directory
 * has no index.html, every call looks again, so building after start-up is enough.
 */
export class ConsoleFiles {
  private files: Map<string, ConsoleFile> | undefined;

  constructor(readonly dir: string) {}

  /** The files by their path relative to the directory ('/'-separated), or undefined while there is no build. */
  load(): Map<string, ConsoleFile> | undefined {
    if (this.files) return this.files;
    if (!existsSync(join(this.dir, "index.html"))) return undefined;
    const files = new Map<string, ConsoleFile>();
    for (const entry of readdirSync(this.dir, { recursive: true, encoding: "utf8" })) {
      const full = join(this.dir, entry);
      if (!statSync(full).isFile()) continue;
      const path = relative(this.dir, full).split(sep).join("/");
      files.set(path, { body: new Uint8Array(readFileSync(full)), type: typeOf(path) });
    }
    this.files = files;
    return files;
  }
}
