import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleFunction } from "./bundle.js";
import { failure, file, loadArtifact } from "./test-helpers.js";

// These tests install real packages from the npm registry into a cache of their own.
const cacheRoot = mkdtempSync(join(tmpdir(), "isle-npm-test-"));
afterAll(() => rmSync(cacheRoot, { recursive: true, force: true }));
let caches = 0;
const freshCache = () => join(cacheRoot, String(caches++));
const limit = 1024 * 1024;
const fixtureFile = (name: string, path: string) =>
  file(path, readFileSync(resolve(import.meta.dirname, "../../../../../test/fixtures/functions", name, path), "utf8"));

/** The tarball URLs npm fetched into a cache: what was installed, by name and version. */
function cachedTarballs(cacheDir: string): string[] {
  const index = join(cacheDir, "npm", "_cacache", "index-v5");
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else found.push(...(readFileSync(path, "utf8").match(/[\w@.-]+\.tgz/g) ?? []));
    }
  };
  walk(index);
  return [...new Set(found)];
}

describe("npm packages", () => {
  it("installs an npm: import into the cache and bundles it", { timeout: 120_000 }, async () => {
    const cacheDir = freshCache();
    const built = await bundleFunction({ files: [fixtureFile("deno-npm", "index.ts")], maxBundleBytes: limit, cacheDir });
    const fn = await loadArtifact(built.bytes);
    expect(await (await fn.fetch(new Request("https://x/"), {})).json()).toEqual({ length: 21, fixed: "xxxxxx" });
    expect(cachedTarballs(cacheDir).some((t) => /^nanoid-5\.\d+\.\d+\.tgz$/.test(t))).toBe(true);
  });

  it("resolves subpaths and bare imports declared in an uploaded package.json, honouring its lockfile", { timeout: 120_000 }, async () => {
    const cacheDir = freshCache();
    const lock = {
      name: "fn",
      lockfileVersion: 3,
      requires: true,
      packages: {
        "": { dependencies: { nanoid: "^5.0.0" } },
        "node_modules/nanoid": {
          version: "5.0.1",
          resolved: "https://registry.npmjs.org/nanoid/-/nanoid-5.0.1.tgz",
          integrity: "sha512-vWeVtV5Cw68aML/QaZvqN/3QQXc6fBfIieAlu05m7FZW2Dgb+3f0xc0TTxuJW+7u30t7iSDTV/j3kVI0oJqIfQ==",
        },
      },
    };
    const files = [
      file("package.json", JSON.stringify({ name: "fn", dependencies: { nanoid: "^5.0.0" } })),
      file("package-lock.json", JSON.stringify(lock)),
      file(
        "index.ts",
        'import { nanoid } from "nanoid";\nimport { customAlphabet } from "npm:nanoid/non-secure";\nexport default { fetch: () => new Response(nanoid().length + customAlphabet("z", 3)()) };',
      ),
    ];
    const fn = await loadArtifact((await bundleFunction({ files, maxBundleBytes: limit, cacheDir })).bytes);
    expect(await (await fn.fetch(new Request("https://x/"))).text()).toBe("21zzz");
    expect(cachedTarballs(cacheDir).filter((t) => t.startsWith("nanoid-"))).toEqual(["nanoid-5.0.1.tgz"]);
  });

  it("uses an uploaded node_modules as is, without installing", async () => {
    const cacheDir = freshCache();
    const files = [
      file("node_modules/isle-local-only/package.json", '{ "name": "isle-local-only", "type": "module", "exports": "./main.js" }'),
      file("node_modules/isle-local-only/main.js", "export const word = 'local';"),
      file("index.ts", 'import { word } from "isle-local-only";\nimport { word as again } from "npm:isle-local-only@1";\nexport default { fetch: () => new Response(word + again) };'),
    ];
    const fn = await loadArtifact((await bundleFunction({ files, maxBundleBytes: limit, cacheDir })).bytes);
    expect(await (await fn.fetch(new Request("https://x/"))).text()).toBe("locallocal");
    expect(() => readdirSync(cacheDir)).toThrow(); // npm never ran
  });

  it("names a package the registry does not have", { timeout: 120_000 }, async () => {
    const src = 'import x from "npm:isle-no-such-package-3f9a2c@1";\nexport default { fetch: () => new Response(x) };';
    const err = await failure(bundleFunction({ files: [file("index.ts", src)], maxBundleBytes: limit, cacheDir: freshCache() }));
    expect(err.code).toBe("build_failed");
    expect(err.message).toMatch(/installing npm packages failed: .*isle-no-such-package-3f9a2c/);
  });

  it("gives up on an install that takes too long", async () => {
    const src = 'import { nanoid } from "npm:nanoid@5";\nexport default { fetch: () => new Response(nanoid()) };';
    const err = await failure(bundleFunction({ files: [file("index.ts", src)], maxBundleBytes: limit, cacheDir: freshCache(), installTimeoutMs: 1 }));
    expect(err.message).toMatch(/took longer than 1 ms/);
  });

  it("refuses dependencies that are not registry packages, before installing", async () => {
    const index = file("index.ts", 'import x from "dep";\nexport default { fetch: () => new Response(x) };');
    for (const range of ["file:../../../etc", "git+ssh://git@example.com/r.git", "https://example.com/x.tgz", "user/repo"]) {
      const pkg = file("package.json", JSON.stringify({ dependencies: { dep: range } }));
      const err = await failure(bundleFunction({ files: [index, pkg], maxBundleBytes: limit, cacheDir: freshCache() }));
      expect(err.message).toMatch(/^package\.json: dep@.*only versions, ranges and tags/);
    }
    const lock = { lockfileVersion: 3, packages: { "node_modules/dep": { version: "1.0.0", resolved: "https://evil.example/dep.tgz" } } };
    const err = await failure(
      bundleFunction({ files: [index, file("package-lock.json", JSON.stringify(lock))], maxBundleBytes: limit, cacheDir: freshCache() }),
    );
    expect(err.message).toMatch(/package-lock\.json: node_modules\/dep is not a package from https:\/\/registry\.npmjs\.org\//);
  });

  it("refuses one package imported at two versions", async () => {
    const src = 'import a from "npm:zod@3";\nimport b from "npm:zod@4";\nexport default { fetch: () => new Response(String(a === b)) };';
    const err = await failure(bundleFunction({ files: [file("index.ts", src)], maxBundleBytes: limit, cacheDir: freshCache() }));
    expect(err.message).toMatch(/"zod" is imported at different versions: 3, 4/);
  });
});
