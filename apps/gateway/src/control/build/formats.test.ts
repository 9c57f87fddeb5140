import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeArtifact } from "@isle/proto";
import { bundleFunction } from "./bundle.js";
import { failure, file, loadArtifact } from "./test-helpers.js";

const fixturesDir = resolve(import.meta.dirname, "../../../../../test/fixtures/functions");
const limit = 1024 * 1024;
const client = { "x-isle-client-ip": "203.0.113.7" };

/** The files of a fixture function, as an upload. */
function fixture(name: string) {
  const dir = join(fixturesDir, name);
  const out: { path: string; content: Buffer }[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out.push({ path: relative(dir, path), content: readFileSync(path) });
    }
  };
  walk(dir);
  return out;
}

async function load(files: { path: string; content: Buffer }[], env: Record<string, string> = {}) {
  const built = await bundleFunction({ files, maxBundleBytes: limit });
  return loadArtifact(built.bytes, env);
}

describe("handler styles", () => {
  it("calls a Workers module's fetch with request, env and ctx", async () => {
    const fn = await load([file("index.ts", "export default { fetch: (r: Request, env: any) => new Response(r.method + ' ' + env.A) };")]);
    const res = await fn.fetch(new Request("https://x/", { method: "PUT" }), { A: "b" }, {});
    expect(await res.text()).toBe("PUT b");
  });

  it("serves Deno.serve(handler) with the client address as remoteAddr", async () => {
    const fn = await load(fixture("deno-serve"));
    const res = await fn.fetch(new Request("https://x/a/b?q=1", { method: "POST", body: "hi", headers: client }), {});
    expect(res.headers.get("x-fixture")).toBe("deno-serve");
    expect(await res.json()).toEqual({ method: "POST", path: "/a/b", query: { q: "1" }, body: "hi", client: "203.0.113.7" });
  });

  it("serves Deno.serve({ handler, onError }) and answers a throw with onError", async () => {
    const fn = await load(fixture("deno-serve-options"));
    const ok = await fn.fetch(new Request("https://x/p"), {});
    expect([ok.status, await ok.text()]).toEqual([201, "options /p"]);
    const failed = await fn.fetch(new Request("https://x/fail"), {});
    expect([failed.status, await failed.text()]).toEqual([503, "handled: failed on purpose"]);
  });

  it("serves Deno.serve(options, handler) and tells onListen Deno's default address", async () => {
    const fn = await load([
      file("index.ts", "let heard = '';\nDeno.serve({ port: 9999, onListen: (a: any) => { heard = a.hostname + ':' + a.port; } }, () => new Response(heard));"),
    ]);
    expect(await (await fn.fetch(new Request("https://x/"), {})).text()).toBe("0.0.0.0:9999");
  });

  it("lets a throw without onError reach the platform (a function_error)", async () => {
    const fn = await load([file("index.ts", "Deno.serve(() => { throw new Error('boom'); });")]);
    await expect(fn.fetch(new Request("https://x/"), {})).rejects.toThrow("boom");
  });

  it("maps the std http/server.ts serve from deno.land to the shim", async () => {
    const built = await bundleFunction({ files: fixture("deno-std-serve"), maxBundleBytes: limit });
    const code = decodeArtifact(built.bytes).modules["worker.js"] ?? "";
    expect(code).not.toContain("deno.land");
    const fn = await loadArtifact(built.bytes);
    const res = await fn.fetch(new Request("https://x/p?name=ada"), {});
    expect(await res.text()).toBe("hello ada from GET /p");
  });

  it("dispatches service-worker fetch events to respondWith", async () => {
    const fn = await load(fixture("service-worker"));
    const res = await fn.fetch(new Request("https://x/sw?a=1"), {});
    expect(res.headers.get("x-fixture")).toBe("service-worker");
    expect(await res.text()).toBe("service worker /sw?a=1");
  });

  it("bundles several modules with relative imports", async () => {
    const fn = await load(fixture("deno-modules"));
    expect(await (await fn.fetch(new Request("https://x/shout?q=hey"), {})).text()).toBe("HEY!");
    const counted = await fn.fetch(new Request("https://x/count", { method: "POST", body: "one two  three" }), {});
    expect(await counted.json()).toEqual({ words: 3 });
  });
});

describe("Deno.env", () => {
  it("reads the isolate's env at the top of the module and per request", async () => {
    const fn = await load(fixture("deno-env"), { GREETING: "hej" });
    const res = await fn.fetch(new Request("https://x/?who=ada"), { GREETING: "hej" });
    expect(await res.json()).toEqual({ greeting: "hej, ada", atStart: "hej", has: true });
  });

  it("gives undefined for a missing variable, so the default applies", async () => {
    const fn = await load(fixture("deno-env"));
    expect(await (await fn.fetch(new Request("https://x/"), {})).json()).toEqual({ greeting: "hello, world", atStart: "hello", has: false });
  });

  it("has toObject, set and delete, and ignores non-string bindings", async () => {
    const fn = await load([
      file(
        "index.ts",
        "Deno.serve(() => { Deno.env.set('NEW', '1'); Deno.env.delete('A'); return Response.json([Deno.env.toObject(), Deno.env.get('A') ?? null]); });",
      ),
    ]);
    const res = await fn.fetch(new Request("https://x/"), { A: "a", B: "b", KV: {} as unknown as string });
    expect(await res.json()).toEqual([{ B: "b", NEW: "1" }, null]);
  });
});

describe("imports", () => {
  it("resolves deno.json import-map aliases and trailing-slash prefixes", async () => {
    const fn = await load(fixture("deno-import-map"));
    expect(await (await fn.fetch(new Request("https://x/?name=ada"), {})).text()).toBe("greetings, ada (v1.2.3)");
  });

  it("reads deno.jsonc with comments and an import_map.json", async () => {
    const entry = file("index.ts", 'import { a } from "lib/a.ts";\nexport default { fetch: () => new Response(a) };');
    const a = file("vendor/a.ts", "export const a = 'A';");
    const jsonc = file("deno.jsonc", '{\n  // aliases\n  "imports": { "lib/": "./vendor/", },\n}');
    expect(await (await (await load([entry, a, jsonc])).fetch(new Request("https://x/"))).text()).toBe("A");
    const map = file("import_map.json", '{ "imports": { "lib/": "./vendor/" } }');
    expect(await (await (await load([entry, a, map])).fetch(new Request("https://x/"))).text()).toBe("A");
  });

  it.each([
    ["https://deno.land/x/oak@v12.6.1/mod.ts"],
    ["http://example.com/mod.js"],
    ["jsr:@std/http@1"],
  ])("refuses the remote import %s naming file:line:column", async (url) => {
    const src = `// a comment\nimport { x } from "${url}";\nDeno.serve(() => new Response(x));`;
    const err = await failure(bundleFunction({ files: [file("index.ts", src)], maxBundleBytes: limit }));
    expect(err.code).toBe("build_failed");
    expect(err.message).toMatch(new RegExp(`^index\\.ts:2:19: remote import "${url.replace(/[.?*+^$()|[\]\\]/g, "\\$&")}"`));
  });

  it("names the import map when an alias leads to a URL", async () => {
    const files = [
      file("deno.json", '{ "imports": { "oak": "https://deno.land/x/oak/mod.ts" } }'),
      file("lib.ts", 'export { Application } from "oak";'),
      file("index.ts", 'import "./lib.ts";\nDeno.serve(() => new Response("x"));'),
    ];
    const err = await failure(bundleFunction({ files, maxBundleBytes: limit }));
    expect(err.message).toMatch(/^lib\.ts:1:\d+: remote import "oak" \(mapped by deno\.json to "https:\/\/deno\.land\/x\/oak\/mod\.ts"\)/);
  });

  it("refuses imports that leave the upload", async () => {
    for (const spec of ["/etc/passwd", "../../../../../../etc/passwd"]) {
      const err = await failure(
        bundleFunction({ files: [file("index.ts", `import x from "${spec}";\nexport default { fetch: () => new Response(x) };`)], maxBundleBytes: limit }),
      );
      expect(err.message).toMatch(/^index\.ts:1:\d+: /);
    }
  });

  it("keeps node: built-ins external and maps bare built-in names to node:", async () => {
    const built = await bundleFunction({
      files: [file("index.ts", 'import { Buffer } from "buffer";\nimport { EventEmitter } from "node:events";\nexport default { fetch: () => new Response(String(!!Buffer && !!EventEmitter)) };')],
      maxBundleBytes: limit,
    });
    const code = decodeArtifact(built.bytes).modules["worker.js"] ?? "";
    expect(code).toMatch(/from "node:buffer"/);
    expect(code).toMatch(/from "node:events"/);
  });
});

describe("the handler check", () => {
  it.each([
    ["export const x = 1;"],
    ["const serve = () => {};\nserve();"],
    ['addEventListener("scheduled", () => {});'],
  ])("refuses %j: no handler", async (src) => {
    const err = await failure(bundleFunction({ files: [file("index.ts", src)], maxBundleBytes: limit }));
    expect(err.message).toMatch(/^index\.ts: no handler/);
  });

  it("finds a Deno.serve call in an imported module", async () => {
    const files = [file("index.ts", 'import "./server.ts";'), file("server.ts", "Deno.serve(() => new Response('deep'));")];
    const fn = await load(files);
    expect(await (await fn.fetch(new Request("https://x/"), {})).text()).toBe("deep");
  });
});
