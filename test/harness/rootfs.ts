import { execFileSync } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where the e2e tests' container root filesystems live: npm start's default, or ISLE_TEST_ROOTFS_DIR. */
export const testRootfsDir = process.env.ISLE_TEST_ROOTFS_DIR ?? join(homedir(), ".cache/isle/rootfs");

/** Builds the named root filesystems there when their inputs changed (infra/rootfs/ensure.sh); returns the directory. */
export function ensureTestRootfs(kinds: string[]): string {
  execFileSync(join(import.meta.dirname, "../../infra/rootfs/ensure.sh"), [testRootfsDir, ...kinds], { stdio: ["ignore", "ignore", "inherit"] });
  return testRootfsDir;
}
