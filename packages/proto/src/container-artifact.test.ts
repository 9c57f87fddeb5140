import { describe, expect, it } from "vitest";
import { encodeArtifact } from "./artifact.js";
import { decodeContainerArtifact, encodeContainerArtifact, isContainerArtifact, type ContainerArtifact } from "./container-artifact.js";

const artifact: ContainerArtifact = {
  rootfs: "exec",
  entry: "handler",
  files: [
    { path: "lib/data.bin", mode: 0o644, content: Buffer.from([0, 1, 2, 255]) },
    { path: "handler", mode: 0o755, content: Buffer.from("#!/bin/sh\necho hi\n") },
  ],
};

describe("container artifacts", () => {
  it("round-trips files, modes and binary content", () => {
    const decoded = decodeContainerArtifact(encodeContainerArtifact(artifact));
    expect(decoded.rootfs).toBe("exec");
    expect(decoded.entry).toBe("handler");
    expect(decoded.files.map((f) => [f.path, f.mode, f.content.toString("hex")])).toEqual([
      ["handler", 0o755, Buffer.from("#!/bin/sh\necho hi\n").toString("hex")],
      ["lib/data.bin", 0o644, "000102ff"],
    ]);
  });

  it("packs the same directory to the same bytes whatever the file order", () => {
    const reversed = { ...artifact, files: [...artifact.files].reverse() };
    expect(encodeContainerArtifact(reversed).equals(encodeContainerArtifact(artifact))).toBe(true);
  });

  it("is told apart from an isolate artifact by its first bytes", () => {
    expect(isContainerArtifact(encodeContainerArtifact(artifact))).toBe(true);
    expect(isContainerArtifact(encodeArtifact({ format: 1, mainModule: "a.js", modules: { "a.js": "" } }))).toBe(false);
    expect(isContainerArtifact(Buffer.alloc(0))).toBe(false);
  });

  it("refuses paths that leave /app, unknown root filesystems and a missing entry", () => {
    const bad = (change: Partial<ContainerArtifact>) => () => decodeContainerArtifact(encodeContainerArtifact({ ...artifact, ...change }));
    expect(bad({ files: [{ path: "../etc/passwd", mode: 0o644, content: Buffer.alloc(0) }], entry: "../etc/passwd" })).toThrow(/entry/);
    expect(bad({ files: [...artifact.files, { path: "a/../../x", mode: 0o644, content: Buffer.alloc(0) }] })).toThrow(/path/);
    expect(bad({ files: [...artifact.files, { path: "/abs", mode: 0o644, content: Buffer.alloc(0) }] })).toThrow(/path/);
    expect(bad({ files: [...artifact.files, { path: "x", mode: 0o4755, content: Buffer.alloc(0) }] })).toThrow(/mode/);
    expect(bad({ rootfs: "ruby" as never })).toThrow(/rootfs/);
    expect(bad({ entry: "missing" })).toThrow(/entry is missing/);
  });
});
