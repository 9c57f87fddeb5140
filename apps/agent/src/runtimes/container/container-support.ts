import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * Why this host cannot run container functions, or undefined when it can:
 * runc needs root here (no rootless mode, ADR 0027), the runc binary, and
 * the directory of root filesystems.
 */
export function containerSupportProblem(rootfsDir: string, runc = "runc"): string | undefined {
  if (process.getuid?.() !== 0) return "the agent does not run as root (runc needs it)";
  try {
    execFileSync(runc, ["--version"], { stdio: "ignore" });
  } catch {
    return `no ${runc} binary on PATH (Debian package runc)`;
  }
  if (!existsSync(rootfsDir)) return `no root filesystem directory ${rootfsDir} (build them with infra/rootfs/build.sh)`;
  return undefined;
}
