import { describe, expect, it } from "vitest";
import { decodeArtifact } from "@isle/proto";
import { bundleFunction } from "./bundle.js";
import { failure, file } from "./test-helpers.js";

const limit = 1024 * 1024;

describe("bundleFunction", () => {
  it("bundles several TypeScript modules into one ES module", async () => {
    const built = await bundleFunction({
      files: [
        file("index.ts", 'import { greet } from "./lib/greet.ts";\nexport default { fetch: () => new Response(greet("x")) };'),
        file("lib/greet.ts", "export const greet = (n: string): string => `hi ${n}`;"),
      ],
      maxBundleBytes: limit,
    });
    const manifest = decodeArtifact(built.bytes);
    expect(built.entry).toBe("index.ts");
    expect(built.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.modules[manifest.mainModule]).toContain("hi ${n}");
  });

  it("is content-addressed: the same sources give the same hash", async () => {
    const files = [file("index.js", "export default { fetch: () => new Response('a') };")];
    const a = await bundleFunction({ files, maxBundleBytes: limit });
    const b = await bundleFunction({ files, maxBundleBytes: limit });
    expect(a.hash).toBe(b.hash);
  });

  it("names file:line:column of a syntax error", async () => {
    const err = await failure(
      bundleFunction({ files: [file("index.ts", "export default {\n  fetch() { return new Response( }\n};")], maxBundleBytes: limit }),
    );
    expect(err.code).toBe("build_failed");
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/^index\.ts:2:\d+: /);
  });

  it("names a missing import", async () => {
    const err = await failure(
      bundleFunction({ files: [file("index.ts", 'import x from "./nope.ts";\nexport default { fetch: () => new Response(x) };')], maxBundleBytes: limit }),
    );
    expect(err.message).toMatch(/index\.ts:1:\d+: .*nope\.ts/);
  });

  it("refuses a module without a handler", async () => {
    const err = await failure(bundleFunction({ files: [file("index.ts", "export const x = 1;")], maxBundleBytes: limit }));
    expect(err.message).toMatch(/no handler/);
  });

  it("refuses a bundle over the size limit", async () => {
    const big = `export default { fetch: () => new Response(${JSON.stringify("x".repeat(5000))}) };`;
    const err = await failure(bundleFunction({ files: [file("index.js", big)], maxBundleBytes: 1000 }));
    expect(err.code).toBe("build_failed");
    expect(err.message).toMatch(/over the limit/);
  });

  it.each(["../escape.ts", "/etc/passwd", "a/../../b.ts", "a\\b.ts", "a//b.ts", ""])("refuses the path %j", async (path) => {
    const err = await failure(bundleFunction({ files: [file(path, "x")], maxBundleBytes: limit }));
    expect(err.code).toBe("validation_failed");
  });

  it("needs an entry it can find", async () => {
    const err = await failure(bundleFunction({ files: [file("lib.ts", "export default {}")], maxBundleBytes: limit }));
    expect(err.message).toMatch(/no entry file/);
    const named = await bundleFunction({
      files: [file("src/app.ts", "export default { fetch: () => new Response('a') };")],
      entry: "src/app.ts",
      maxBundleBytes: limit,
    });
    expect(named.entry).toBe("src/app.ts");
  });
});
