import { execFileSync } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The root filesystems the container tests run on, built on this machine by
 * infra/rootfs/ensure.sh (seconds when its inputs are unchanged; the first
 * build downloads ~15 MB of Debian packages). ISLE_TEST_ROOTFS_DIR overrides
 * where. Fails, never skips, when they cannot be built.
 */
export function rootfsForTests(kinds: string[] = ["python3", "exec"]): string {
  const dir = process.env.ISLE_TEST_ROOTFS_DIR ?? join(homedir(), ".cache/isle/rootfs");
  const script = join(import.meta.dirname, "../../../../../infra/rootfs/ensure.sh");
  execFileSync(script, [dir, ...kinds], { stdio: ["ignore", "ignore", "inherit"] });
  return dir;
}
