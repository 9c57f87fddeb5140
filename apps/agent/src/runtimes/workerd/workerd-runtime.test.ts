import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { generatedBody, MemoryArtifacts, MemoryEnv, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRuntime } from "./workerd-runtime.js";

const hello = `export default { fetch(req) { return new Response("hi " + new URL(req.url).pathname) } }`;
const counter = `let n = 0; export default { fetch() { n++; return new Response(String(n)) } }`;
const echoHeaders = `export default {
  fetch(req) { return Response.json({ url: req.url, method: req.method, headers: [...req.headers] }) }
}`;
const echoBody = `export default { fetch(req) { return new Response(req.body, { headers: { "x-seen": "1" } }) } }`;
const throws = `export default { fetch() { throw new Error("secret detail at /srv/app.js") } }`;
const noFetch = `export default { scheduled() {} }`;
const spoofsMarkers = `export default {
  fetch() { return new Response("ok", { headers: { "x-isle-cold-start": "1", "x-isle-error": "function_error" } }) }
}`;

describe("WorkerdRuntime", () => {
  const artifacts = new MemoryArtifacts();
  const env = new MemoryEnv();
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, env, processes: 2 }));
  });

  afterAll(async () => {
    await stop?.();
  });

  it("runs a Workers-style function, cold the first time and warm after", async () => {
    const hash = artifacts.add(hello);
    const first = await runtime.invoke(runtimeRequest("t1", hash, "/a/b?q=1"));
    expect(first.status).toBe(200);
    expect(first.coldStart).toBe(true);
    expect(await text(first.body)).toBe("hi /a/b");

    const second = await runtime.invoke(runtimeRequest("t1", hash, "/c"));
    expect(second.coldStart).toBe(false);
    expect(await text(second.body)).toBe("hi /c");
    expect(second.headers.some(([name]) => name.startsWith("x-isle-"))).toBe(false);
  });

  it("gives the isolate its function's env (plus the FUNCTIONS binding), and a new env version a new isolate", async () => {
    // Variables are strings; the FUNCTIONS binding is the one non-string entry.
    const hash = artifacts.add(
      "export default { fetch: (req, env) => new Response(JSON.stringify(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : typeof v.fetch])))) };",
    );
    env.byRef.set("t9:fn-1:v1", { GREETING: "hello" });
    env.byRef.set("t9:fn-1:v2", { GREETING: "bonjour" });
    env.byRef.set("t8:fn-1:v1", { OTHER: "tenant" });
    const read = async (tenant: string, envRef: string) => JSON.parse(await text((await runtime.invoke(runtimeRequest(tenant, hash, "/", { envRef }))).body)) as unknown;
    expect(await read("t9", "t9:fn-1:v1")).toEqual({ GREETING: "hello", FUNCTIONS: "function" });
    expect(await read("t9", "t9:fn-1:v2")).toEqual({ GREETING: "bonjour", FUNCTIONS: "function" });
    expect(await read("t8", "t8:fn-1:v1")).toEqual({ OTHER: "tenant", FUNCTIONS: "function" });
  });

  it("gives each isolate id its own globals, even with identical code", async () => {
    const hash = artifacts.add(counter);
    const a = async () => text((await runtime.invoke(runtimeRequest("tenant-a", hash, "/"))).body);
    const b = async () => text((await runtime.invoke(runtimeRequest("tenant-b", hash, "/"))).body);
    expect(await a()).toBe("1");
    expect(await a()).toBe("2");
    expect(await b()).toBe("1");
    expect(await a()).toBe("3");
  });

  it("keeps files a function writes to /tmp away from another tenant's isolate with the same code", async () => {
    const hash = artifacts.add(`import { existsSync, readFileSync, writeFileSync } from "node:fs";
export default { fetch(req) {
  const path = "/tmp/isle-isolation-check";
  if (new URL(req.url).pathname === "/write") { writeFileSync(path, "tenant secret"); return new Response("written"); }
  return new Response(existsSync(path) ? readFileSync(path, "utf8") : "absent");
} };`);
    const call = async (tenant: string, path: string) => text((await runtime.invoke(runtimeRequest(tenant, hash, path))).body);
    expect(await call("tmp-a", "/write")).toBe("written");
    expect(await call("tmp-b", "/read")).toBe("absent");
  });

  it("shows the function the original URL and none of the internal headers, even spoofed ones", async () => {
    const hash = artifacts.add(echoHeaders);
    const victim = artifacts.add(counter);
    const response = await runtime.invoke(
      runtimeRequest("t1", hash, "/path/x?y=2", {
        method: "POST",
        body: null,
        headers: [
          ["x-custom", "kept"],
          ["X-Isle-Isolate-Id", `other-tenant:dep-1:${victim}`],
          ["x-isle-artifact", victim],
          ["x-isle-url", "https://evil.test/"],
          ["connection", "keep-alive"],
        ],
      }),
    );
    const seen = JSON.parse(await text(response.body)) as { url: string; method: string; headers: string[][] };
    expect(seen.url).toBe("https://fn.example.test/path/x?y=2");
    expect(seen.method).toBe("POST");
    expect(seen.headers).toContainEqual(["x-custom", "kept"]);
    expect(seen.headers.filter(([name]) => name?.startsWith("x-isle-"))).toEqual([]);
  });

  it("does not let a function forge the supervisor's markers", async () => {
    const hash = artifacts.add(spoofsMarkers);
    await text((await runtime.invoke(runtimeRequest("t1", hash, "/"))).body);
    const warm = await runtime.invoke(runtimeRequest("t1", hash, "/"));
    expect(warm.coldStart).toBe(false);
    expect(await text(warm.body)).toBe("ok");
  });

  it("streams a 50 MB body in and out without holding it in the agent", async () => {
    const hash = artifacts.add(echoBody);
    const echo = async (total: number) => {
      const upload = generatedBody(total);
      const response = await runtime.invoke(runtimeRequest("t1", hash, "/echo", { method: "POST", body: upload.stream }));
      expect(response.status).toBe(200);
      const received = createHash("sha256");
      let length = 0;
      let maxLag = 0;
      for await (const chunk of response.body) {
        received.update(chunk as Buffer);
        length += (chunk as Buffer).length;
        maxLag = Math.max(maxLag, upload.sent() - length);
      }
      expect(length).toBe(total);
      expect(received.digest("hex")).toBe(upload.digest());
      return maxLag;
    };
    // A small run first: one-time costs (JIT, allocator arenas) are not per-body growth.
    await echo(4 * 2 ** 20);
    // Collect garbage while sampling, so that RSS shows what is held, not
    // what V8 has yet to free (64 KB Buffers are external memory that V8
    // collects lazily). The vm trick exposes gc() without a CLI flag.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    gc();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      gc();
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 25);
    let maxLag: number;
    try {
      maxLag = await echo(50 * 2 ** 20);
    } finally {
      clearInterval(sampler);
    }
    const rssAfter = process.memoryUsage().rss;
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(
      `50 MB echo: rss before ${mb(rssBefore)} MB, peak ${mb(rssPeak)} MB, after ${mb(rssAfter)} MB, ` +
        `growth ${mb(rssPeak - rssBefore)} MB; most bytes sent but not yet echoed ${mb(maxLag)} MB`,
    );
    expect(rssPeak - rssBefore).toBeLessThan(24 * 2 ** 20);
    // Nothing on the way (agent, supervisor, isolate) buffers the body whole.
    expect(maxLag).toBeLessThan(8 * 2 ** 20);
  });

  it("turns a throwing function into a generic function_error, and keeps serving others", async () => {
    const bad = artifacts.add(throws);
    const error = await runtime.invoke(runtimeRequest("t1", bad, "/")).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(IsleError);
    expect((error as IsleError).code).toBe("function_error");
    expect((error as IsleError).message).not.toContain("secret detail");

    const none = artifacts.add(noFetch);
    const error2 = await runtime.invoke(runtimeRequest("t1", none, "/")).catch((err: unknown) => err);
    expect((error2 as IsleError).code).toBe("function_error");

    const good = artifacts.add(hello);
    const ok = await runtime.invoke(runtimeRequest("t2", good, "/still"));
    expect(await text(ok.body)).toBe("hi /still");
    expect(runtime.status()).toEqual({ processes: 2, ready: 2, inFlight: 0 });
  });

  it("fails a missing artifact with upstream_failed and loads it once it exists", async () => {
    const later = `export default { fetch() { return new Response("arrived") } }`;
    const { hash, bytes } = artifacts.hashOf(later);
    // Several attempts, so that both processes see the failure.
    for (let i = 0; i < 4; i++) {
      const error = await runtime.invoke(runtimeRequest("t1", hash, "/")).catch((err: unknown) => err);
      expect((error as IsleError).code).toBe("upstream_failed");
    }
    artifacts.put(hash, bytes);
    for (let i = 0; i < 4; i++) {
      expect(await text((await runtime.invoke(runtimeRequest("t1", hash, "/"))).body)).toBe("arrived");
    }
  });

  it("counts requests in flight while the functions run", async () => {
    const slow = artifacts.add(`export default {
      async fetch() { await new Promise((r) => setTimeout(r, 300)); return new Response("done") }
    }`);
    const pending = [1, 2, 3].map(() => runtime.invoke(runtimeRequest("t3", slow, "/")));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(runtime.status()).toEqual({ processes: 2, ready: 2, inFlight: 3 });
    const bodies = await Promise.all(pending.map(async (p) => text((await p).body)));
    expect(bodies).toEqual(["done", "done", "done"]);
    expect(runtime.status().inFlight).toBe(0);
  });
});
