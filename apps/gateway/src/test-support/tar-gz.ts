import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A .tar.gz of `files` (path → text) made by the real tar command, as a user's upload would be. */
export function tarGz(files: Record<string, string>): Uint8Array<ArrayBuffer> {
  const dir = mkdtempSync(join(tmpdir(), "isle-targz-"));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return new Uint8Array(execFileSync("tar", ["-czf", "-", "-C", dir, "."]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
