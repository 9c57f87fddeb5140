import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchDir } from "../test-support/fake-io.js";
import { collectFiles } from "./collect.js";
import { tarGz } from "./tar.js";

describe("the upload", () => {
  it("is a tar.gz the real tar reads back, long names included", () => {
    const long = `${"deep/".repeat(30)}module.ts`;
    const files = [
      { path: "index.ts", content: Buffer.from("export default {}\n") },
      { path: long, content: Buffer.from("x".repeat(1500)) },
      { path: "empty.txt", content: Buffer.alloc(0) },
    ];
    const dir = scratchDir();
    writeFileSync(join(dir, "fn.tar.gz"), tarGz(files));
    expect(execFileSync("tar", ["-tzf", join(dir, "fn.tar.gz")], { encoding: "utf8" }).trim().split("\n")).toEqual(["index.ts", long, "empty.txt"]);
    execFileSync("tar", ["-xzf", join(dir, "fn.tar.gz"), "-C", dir]);
    expect(readFileSync(join(dir, long), "utf8")).toBe("x".repeat(1500));
    expect(Buffer.from(tarGz(files)).equals(Buffer.from(tarGz(files)))).toBe(true);
  });

  it("leaves out .git, node_modules and what .gitignore and .isleignore list", () => {
    const dir = scratchDir();
    for (const path of ["index.ts", "lib/util.ts", "node_modules/x/index.js", ".git/HEAD", "dist/out.js", "secret.env", "lib/debug.log"]) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), path);
    }
    writeFileSync(join(dir, ".gitignore"), "dist/\n*.log\n");
    writeFileSync(join(dir, ".isleignore"), "secret.env\n");
    expect(collectFiles(dir).files.map((f) => f.path)).toEqual([".gitignore", ".isleignore", "index.ts", "lib/util.ts"]);
    expect(collectFiles(dir, { includeNodeModules: true }).files.map((f) => f.path)).toContain("node_modules/x/index.js");
  });
});
