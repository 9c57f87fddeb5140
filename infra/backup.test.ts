import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const backup = join(resolve(dirname(fileURLToPath(import.meta.url))), "backup/backup.sh");
const work = mkdtempSync(join(tmpdir(), "isle-backup-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it("backs up a PGlite data directory with its keys and CA, without caches, and restores by unpacking", () => {
  const data = join(work, "data");
  for (const dir of ["pglite/base", "pki", "git/acme/hello.git", "build-cache/npm", "run"]) mkdirSync(join(data, dir), { recursive: true });
  const files: Record<string, string> = {
    "secrets-key": "c2VjcmV0",
    "admin-token": "token-0123456789abcdef",
    "pki/ca.key": "KEY",
    "pki/ca.crt": "CRT",
    "pglite/base/1": "rows",
    "git/acme/hello.git/HEAD": "ref: refs/heads/main\n",
  };
  for (const [path, text] of Object.entries(files)) writeFileSync(join(data, path), text);
  writeFileSync(join(data, "build-cache/npm/big"), "cache");
  writeFileSync(join(data, "pglite.lock"), "123");
  const env = join(work, "gateway.env");
  writeFileSync(env, "ISLE_PORT=8080\n");

  const out = join(work, "out");
  const printed = execFileSync(backup, ["--data-dir", data, "--env", env, "--out", out, "--no-stop"], { encoding: "utf8", env: { ...process.env, DATABASE_URL: "" } });
  const tarball = printed.trim().split("\n").at(-1) ?? "";
  expect(readdirSync(out)).toEqual([tarball.split("/").at(-1)]);
  expect(tarball).toMatch(/isle-data-\d{8}T\d{6}Z\.tar\.gz$/);

  const restored = join(work, "restored");
  mkdirSync(restored);
  execFileSync("tar", ["-C", restored, "-xzf", tarball]);
  for (const [path, text] of Object.entries(files)) expect(readFileSync(join(restored, path), "utf8")).toBe(text);
  const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" });
  expect(listing).not.toContain("build-cache");
  expect(listing).not.toContain("pglite.lock");
});
