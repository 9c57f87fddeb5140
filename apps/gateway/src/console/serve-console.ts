import type { Context, Hono } from "hono";
import type { Logger } from "@isle/telemetry";
import type { GatewayEnv } from "../env.js";
import { ConsoleFiles } from "./console-files.js";

/** Where the console lives; the console's Vite `base` is the same. */
export const consolePath = "/console";

/**
 * Only this origin, for everything: the console bundles its scripts, styles and fonts and
 * emits no inline script or style, so nothing looser is needed. No framing (clickjacking),
 * no <base> rewriting, no plugins.
 */
export const consoleCsp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders = {
  "content-security-policy": consoleCsp,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** Hashed assets never change under their name: a year, immutable. Everything else is checked each time. */
const immutable = "public, max-age=31536000, immutable";
const revalidate = "no-cache";

export interface ConsoleOptions {
  /** The built console (apps/console/dist). */
  dir: string;
  logger: Logger;
}

/**
 * `GET /console` and `/console/*`: the web console's static files, and its index.html for any
 * other path below (the console routes on the client). 503 while the console is not built.
 */
export function registerConsole(app: Hono<GatewayEnv>, { dir, logger }: ConsoleOptions): void {
  const files = new ConsoleFiles(dir);
  if (!files.load()) logger.warn({ dir }, "web console not built: /console answers 503 until it is (npm run build -w @isle/console)");

  const serve = (c: Context<GatewayEnv>) => {
    for (const [name, value] of Object.entries(securityHeaders)) c.header(name, value);
    const built = files.load();
    if (!built) {
      c.header("cache-control", "no-store");
      return c.text("The Isle web console is not built on this gateway: run `npm run build -w @isle/console` (or set ISLE_CONSOLE_DIR) and reload.\n", 503);
    }
    const rel = relativePath(c.req.path);
    if (rel === undefined) return c.text("not found\n", 404);
    const file = built.get(rel);
    if (file && rel !== "index.html") {
      c.header("cache-control", rel.startsWith("assets/") ? immutable : revalidate);
      return c.body(file.body, 200, { "content-type": file.type });
    }
    // A missing asset is a 404, not the page: a browser would otherwise run HTML as a script.
    if (rel.startsWith("assets/")) return c.text("not found\n", 404);
    const index = built.get("index.html");
    if (!index) return c.text("not found\n", 404);
    c.header("cache-control", revalidate);
    return c.body(index.body, 200, { "content-type": index.type });
  };
  app.get(consolePath, serve);
  app.get(`${consolePath}/*`, serve);
}

/**
 * The path below /console, or undefined when it tries to leave the directory or name a hidden
 * file: any `.` or `..` segment, a segment starting with a dot, a backslash or a NUL, raw or
 * percent-encoded. (Files are looked up in memory, so this is a second wall, not the only one.)
 */
export function relativePath(requestPath: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(requestPath);
  } catch {
    return undefined;
  }
  if (path !== consolePath && !path.startsWith(`${consolePath}/`)) return undefined;
  const rest = path.slice(consolePath.length + 1);
  if (/[\\\0]/.test(rest)) return undefined;
  const segments = rest.split("/");
  if (segments.some((s) => s.startsWith("."))) return undefined;
  return segments.filter(Boolean).join("/");
}
