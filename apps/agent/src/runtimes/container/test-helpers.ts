import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";

/** Applets the tests' shell scripts use. */
const applets = ["sh", "id", "echo", "cat", "sleep", "ls", "true"];

/**
 * Fails (never skips) when the container tests cannot run here: they need
 * root, runc and a static busybox (scripts/setup.sh installs both).
 */
export function requireRuncHost(): void {
  if (process.getuid?.() !== 0) throw new Error("the runc tests need root: runc creates namespaces and cgroups");
  try {
    execFileSync("runc", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("the runc tests need the runc binary on PATH: run scripts/setup.sh (Debian package runc)");
  }
  if (!existsSync("/bin/busybox")) {
    throw new Error("the runc tests need a static /bin/busybox: run scripts/setup.sh (Debian package busybox-static)");
  }
}

/**
 * Builds a small root filesystem from the host under `dir`: a static busybox
 * with a few applets, and this Node binary with its shared libraries (for a
 * server on a Unix socket, which busybox cannot listen on). Files are
 * hard-linked where they share the host's filesystem, so it takes
 * milliseconds. /run/isle and /tmp (mode 1777) exist as mount points.
 */
export function buildTestRootfs(dir: string): string {
  for (const sub of ["bin", "proc", "dev", "sys", "tmp", "run/isle"]) mkdirSync(join(dir, sub), { recursive: true });
  // runc gives a tmpfs the mode of the directory it covers, not its mode= option.
  chmodSync(join(dir, "tmp"), 0o1777);
  place("/bin/busybox", join(dir, "bin/busybox"));
  for (const applet of applets) symlinkSync("busybox", join(dir, "bin", applet));
  place(process.execPath, join(dir, "bin/node"));
  const libraries = execFileSync("ldd", [process.execPath], { encoding: "utf8" })
    .split("\n")
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
  for (const library of libraries) {
    mkdirSync(join(dir, dirname(library)), { recursive: true });
    place(library, join(dir, library));
  }
  return dir;
}

function place(from: string, to: string): void {
  try {
    linkSync(realpathSync(from), to);
  } catch {
    copyFileSync(realpathSync(from), to);
  }
}

/** Everything a stream carries until it ends. */
export async function readAll(stream: Readable): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += String(chunk);
  return text;
}
