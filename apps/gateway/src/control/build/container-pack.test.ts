import { describe, expect, it } from "vitest";
import { decodeContainerArtifact } from "@isle/proto";
import { packContainer } from "./container-pack.js";
import type { SourceFile } from "./source-files.js";
import { failure, file } from "./test-helpers.js";

const maxBundleBytes = 1024 * 1024;
const pack = (files: SourceFile[], entry?: string) => packContainer({ files, entry, maxBundleBytes });

describe("packContainer", () => {
  it("picks the root filesystem from the entry", () => {
    expect(decodeContainerArtifact(pack([file("handler.py", "def handle(r): pass")]).bytes).rootfs).toBe("python3");
    expect(decodeContainerArtifact(pack([file("index.js", "module.exports = () => 1")]).bytes).rootfs).toBe("node");
    expect(decodeContainerArtifact(pack([file("handler", "#!/bin/sh\n")]).bytes).rootfs).toBe("exec");
    expect(decodeContainerArtifact(pack([file("bin/serve", "#!/bin/sh\n"), file("README", "x")], "bin/serve").bytes)).toMatchObject({
      rootfs: "exec",
      entry: "bin/serve",
    });
  });

  it("makes an executable entry executable and keeps other files' executable bits", () => {
    const artifact = decodeContainerArtifact(
      pack([file("handler", "#!/bin/sh\n"), { ...file("tool.sh", "#!/bin/sh\n"), mode: 0o700 }, { ...file("data", "x"), mode: 0o600 }]).bytes,
    );
    expect(Object.fromEntries(artifact.files.map((f) => [f.path, f.mode]))).toEqual({ handler: 0o755, "tool.sh": 0o755, data: 0o644 });
  });

  it("gives the same hash to the same directory", () => {
    expect(pack([file("handler.py", "a"), file("b.py", "b")]).hash).toBe(pack([file("b.py", "b"), file("handler.py", "a")]).hash);
  });

  it("refuses a missing or wrongly named entry, bad paths and an oversized upload", async () => {
    const reason = async (run: () => unknown) => (await failure(Promise.resolve().then(run))).message;
    expect(await reason(() => pack([file("main.go", "x")], "handler"))).toMatch(/not among the uploaded files/);
    expect(await reason(() => pack([file("README.md", "x")]))).toMatch(/no entry file/);
    expect(await reason(() => pack([file("app.py", "x")], "app.py"))).toMatch(/entry is handler.py/);
    expect(await reason(() => pack([file("server.js", "x")], "server.js"))).toMatch(/entry is index.js/);
    expect(await reason(() => pack([file("../handler.py", "x")]))).toMatch(/invalid file path/);
    expect(await reason(() => packContainer({ files: [file("handler", "x".repeat(2000))], maxBundleBytes: 1000 }))).toMatch(/over the limit/);
  });
});
