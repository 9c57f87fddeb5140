import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@isle/telemetry";
import type { GatewayEnv } from "../env.js";
import { consoleCsp, registerConsole, relativePath } from "./serve-console.js";

const index = '<!doctype html><script type="module" src="/console/assets/index-abc123.js"></script>';

describe("web console serving", () => {
  let root: string;
  let dist: string;
  const warnings: string[] = [];
  const logger = createLogger({
    service: "gateway",
    level: "warn",
    destination: new Writable({ write: (chunk, _e, done) => (warnings.push(String(chunk)), done()) }),
  });

  beforeAll(() => {
    // A built console in root/dist, and a file beside it that must never be served.
    root = mkdtempSync(join(tmpdir(), "isle-console-"));
    dist = join(root, "dist");
    mkdirSync(join(dist, "assets"), { recursive: true });
    writeFileSync(join(dist, "index.html"), index);
    writeFileSync(join(dist, "assets", "index-abc123.js"), "console.log('app')");
    writeFileSync(join(dist, "favicon.svg"), "<svg/>");
    writeFileSync(join(dist, ".env"), "SECRET=hidden");
    writeFileSync(join(root, "secret.txt"), "outside the console");
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function appFor(dir: string) {
    const app = new Hono<GatewayEnv>();
    registerConsole(app, { dir, logger });
    return app;
  }

  it("serves index.html at /console and /console/ with the strict policy, revalidated", async () => {
    for (const path of ["/console", "/console/"]) {
      const res = await appFor(dist).request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toBe(consoleCsp);
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(await res.text()).toBe(index);
    }
    expect(consoleCsp).toContain("default-src 'self'");
    expect(consoleCsp).toContain("script-src 'self'");
    expect(consoleCsp).not.toMatch(/unsafe|https?:|\*/);
  });

  it("serves a client-side route's path as index.html (SPA fallback)", async () => {
    const res = await appFor(dist).request("/console/t/acme/functions/hello/invocations/inv_1");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(index);
    expect(res.headers.get("content-security-policy")).toBe(consoleCsp);
  });

  it("serves hashed assets for a year, immutable, with their type", async () => {
    const res = await appFor(dist).request("/console/assets/index-abc123.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toBe("console.log('app')");
    const other = await appFor(dist).request("/console/favicon.svg");
    expect(other.headers.get("cache-control")).toBe("no-cache");
    expect(other.headers.get("content-type")).toBe("image/svg+xml");
  });

  it("answers a missing asset with 404, not the page", async () => {
    const res = await appFor(dist).request("/console/assets/gone-000000.js");
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("<!doctype");
  });

  it("refuses paths that leave the directory or name hidden files", async () => {
    const app = appFor(dist);
    for (const path of ["/console/..%2fsecret.txt", "/console/assets/..%2f..%2fsecret.txt", "/console/%2e%2e%2fsecret.txt", "/console/.env", "/console/assets%5c..%5c..%5csecret.txt", "/console/%00"]) {
      const res = await app.request(path);
      const body = await res.text();
      expect(body, path).not.toContain("outside the console");
      expect(body, path).not.toContain("SECRET");
      expect(res.status, path).toBe(404);
    }
    expect(relativePath("/console/a/../../x")).toBeUndefined();
    expect(relativePath("/console/assets/x.js")).toBe("assets/x.js");
    expect(relativePath("/consolex")).toBeUndefined();
  });

  it("answers 503 with a clear message while the console is not built, and serves it once it is", async () => {
    const later = join(root, "later");
    const app = appFor(later);
    expect(warnings.join("")).toContain("web console not built");
    const res = await app.request("/console/functions");
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("web console is not built");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toBe(consoleCsp);

    mkdirSync(later);
    writeFileSync(join(later, "index.html"), index);
    const built = await app.request("/console/functions");
    expect(built.status).toBe(200);
    expect(await built.text()).toBe(index);
  });

  it("leaves other paths alone", async () => {
    const res = await appFor(dist).request("/consoles");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-security-policy")).toBeNull();
  });
});
