import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { extractTarGz } from "./tar.js";

const limits = { maxUnpackedBytes: 1024 * 1024, maxFiles: 100 };
let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Makes a .tar.gz with the real tar command from a directory built by `make`. */
function archive(make: (root: string) => void, args: string[] = ["."]): Buffer {
  dir = mkdtempSync(join(tmpdir(), "isle-tar-"));
  const root = join(dir, "src");
  mkdirSync(root);
  make(root);
  return execFileSync("tar", ["-czf", "-", "-C", root, ...args]);
}

describe("extractTarGz", () => {
  it("reads the files of a real tar archive, nested and long-named", () => {
    const long = `${"deep/".repeat(30)}file.ts`;
    const bytes = archive((root) => {
      writeFileSync(join(root, "index.ts"), "export default {}");
      mkdirSync(join(root, "deep/".repeat(30)), { recursive: true });
      writeFileSync(join(root, long), "x");
    });
    const files = extractTarGz(bytes, limits);
    const byPath = new Map(files.map((f) => [f.path.replace(/^\.\//, ""), Buffer.from(f.content).toString()]));
    expect(byPath.get("index.ts")).toBe("export default {}");
    expect(byPath.get(long)).toBe("x");
  });

  it("keeps each file's permission bits (an executable stays executable)", () => {
    const bytes = archive((root) => {
      writeFileSync(join(root, "handler"), "#!/bin/sh\n", { mode: 0o755 });
      writeFileSync(join(root, "data.txt"), "x", { mode: 0o640 });
    });
    const modes = new Map(extractTarGz(bytes, limits).map((f) => [f.path.replace(/^\.\//, ""), f.mode]));
    expect(modes.get("handler")).toBe(0o755);
    expect(modes.get("data.txt")).toBe(0o640);
  });

  it("refuses symbolic links", () => {
    const bytes = archive((root) => {
      writeFileSync(join(root, "index.ts"), "x");
      symlinkSync("/etc/passwd", join(root, "passwd"));
    });
    expect(() => extractTarGz(bytes, limits)).toThrow(/not a regular file/);
  });

  it("refuses what is not a gzip tar, and archives that unpack too large", () => {
    expect(() => extractTarGz(Buffer.from("hello"), limits)).toThrow(/not a gzip-compressed tar/);
    expect(() => extractTarGz(gzipSync(Buffer.alloc(4096, 7)), limits)).toThrow(/corrupt/);
    const big = archive((root) => writeFileSync(join(root, "big.bin"), Buffer.alloc(2 * 1024 * 1024)));
    expect(() => extractTarGz(big, limits)).toThrow(/unpacks to more than/);
  });

  it("keeps `..` and absolute names as given, for the path check to refuse", () => {
    const bytes = archive((root) => writeFileSync(join(root, "a.ts"), "x"), ["--transform", "s,^\\./a.ts,../../etc/evil.ts,", "."]);
    const names = extractTarGz(bytes, limits).map((f) => f.path);
    expect(names).toContain("../../etc/evil.ts");
  });
});
