import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { readCommitSources } from "./commit-sources.js";
import { gitEnv } from "./git-command.js";

let dir = "";
let env: NodeJS.ProcessEnv = {};
const limits = { maxFiles: 100, maxBytes: 1024 * 1024 };
const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, env: { ...env, GIT_DIR: join(dir, ".git") } }).toString().trim();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "isle-commit-"));
  env = gitEnv({ GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" });
  execFileSync("git", ["init", "-q", "-b", "main", dir], { env });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Commits the work tree as it is and returns the commit id. */
function commit(): string {
  git("add", "-A");
  git("commit", "-qm", "test");
  return git("rev-parse", "HEAD");
}
const read = (id: string) => readCommitSources(id, { ...env, GIT_DIR: join(dir, ".git") }, limits);
async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(IsleError);
  return (err as IsleError).message;
}

describe("readCommitSources", () => {
  it("reads a commit's files, nested and binary, from the object database", async () => {
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "index.ts"), "export default {}");
    writeFileSync(join(dir, "src/data.bin"), Buffer.from([0, 1, 2, 10, 255]));
    const id = commit();
    // A later change in the work tree is not what was committed.
    writeFileSync(join(dir, "index.ts"), "changed");
    const files = await read(id);
    const byPath = new Map(files.map((f) => [f.path, Buffer.from(f.content)]));
    expect([...byPath.keys()].sort()).toEqual(["index.ts", "src/data.bin"]);
    expect(byPath.get("index.ts")?.toString()).toBe("export default {}");
    expect(byPath.get("src/data.bin")).toEqual(Buffer.from([0, 1, 2, 10, 255]));
  });

  it("turns a link to a file inside the tree into a copy of that file", async () => {
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "lib/real.ts"), "export const x = 1;");
    symlinkSync("lib/real.ts", join(dir, "index.ts"));
    symlinkSync("../index.ts", join(dir, "lib/again.ts"));
    const files = await read(commit());
    for (const path of ["index.ts", "lib/again.ts"]) {
      expect(Buffer.from(files.find((f) => f.path === path)!.content).toString()).toBe("export const x = 1;");
    }
  });

  it("refuses links out of the tree, absolute or by .., without reading their targets", async () => {
    writeFileSync(join(dir, "index.ts"), "x");
    symlinkSync("/etc/passwd", join(dir, "passwd"));
    const absolute = commit();
    expect(await refusal(read(absolute))).toMatch(/^passwd: symbolic link to "\/etc\/passwd" points outside the repository/);
    git("rm", "-q", "passwd");
    mkdirSync(join(dir, "a"));
    symlinkSync("../../secret", join(dir, "a/up"));
    expect(await refusal(read(commit()))).toMatch(/^a\/up: symbolic link to "..\/..\/secret" points outside/);
  });

  it("refuses links to directories and to nothing", async () => {
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "lib/a.ts"), "x");
    symlinkSync("lib", join(dir, "dir-link"));
    expect(await refusal(read(commit()))).toMatch(/^dir-link: .* does not name a file/);
  });

  it("refuses submodules and .. or .git entries written with git's plumbing", async () => {
    writeFileSync(join(dir, "index.ts"), "x");
    const base = commit();
    git("update-index", "--add", "--cacheinfo", `160000,${base},vendor/lib`);
    git("commit", "-qm", "submodule");
    expect(await refusal(read(git("rev-parse", "HEAD")))).toMatch(/^vendor\/lib: submodules are not supported/);

    const blob = git("rev-parse", `${base}:index.ts`);
    for (const name of ["..", ".git", ".GIT"]) {
      const inner = execFileSync("git", ["mktree"], { cwd: dir, env: { ...env, GIT_DIR: join(dir, ".git") }, input: `100644 blob ${blob}\tconfig\n` }).toString().trim();
      const tree = execFileSync("git", ["mktree"], { cwd: dir, env: { ...env, GIT_DIR: join(dir, ".git") }, input: `040000 tree ${inner}\t${name}\n100644 blob ${blob}\tindex.ts\n` })
        .toString()
        .trim();
      const hostile = git("commit-tree", tree, "-m", "hostile");
      expect(await refusal(read(hostile))).toMatch(/^unsafe path /);
    }
  });

  it("refuses commits over the file count or size limits before reading them", async () => {
    writeFileSync(join(dir, "index.ts"), "x".repeat(2000));
    writeFileSync(join(dir, "b.ts"), "y");
    const id = commit();
    expect(await refusal(readCommitSources(id, { ...env, GIT_DIR: join(dir, ".git") }, { maxFiles: 1, maxBytes: 1e6 }))).toMatch(/at most 1/);
    expect(await refusal(readCommitSources(id, { ...env, GIT_DIR: join(dir, ".git") }, { maxFiles: 10, maxBytes: 1000 }))).toMatch(/over the limit of 1000/);
  });
});
