import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { IsleError } from "@isle/errors";
import { isPackageName, isRegistryRange } from "./npm-specifier.js";

const run = promisify(execFile);

/** The registry every build installs from; lockfile URLs must point into it. */
export const defaultRegistry = "https://registry.npmjs.org/";

/** One install: what to install, where, and with which cache and limits. */
export interface InstallInput {
  /** Package name → range, as the function's imports and package.json ask. */
  dependencies: Map<string, string>;
  /** The uploaded package-lock.json, if any, already parsed. */
  lock: Record<string, unknown> | undefined;
  /** A fresh directory outside the uploaded sources; node_modules lands here. */
  dir: string;
  cacheDir: string;
  timeoutMs: number;
  registry: string;
}

/**
 * Installs packages with the real npm into `dir`, from a package.json we
 * write (only `dependencies`) and the uploaded lockfile when there is one.
 * Never runs install scripts: this is tenant code. The directory is not the
 * upload's, so an uploaded `.npmrc` is never read. npm's cache under
 * `cacheDir/npm` keeps tarballs by name and version across builds.
 */
export async function installPackages({ dependencies, lock, dir, cacheDir, timeoutMs, registry }: InstallInput): Promise<void> {
  await mkdir(dir, { recursive: true });
  const deps = Object.fromEntries([...dependencies].sort(([a], [b]) => a.localeCompare(b)));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "isle-function", private: true, dependencies: deps }));
  if (lock) {
    checkLock(lock, registry);
    await writeFile(join(dir, "package-lock.json"), JSON.stringify(lock));
  }
  const args = [
    "install",
    "--ignore-scripts",
    "--no-audit",
    "--no-fund",
    "--omit=dev",
    "--no-update-notifier",
    "--loglevel=error",
    "--install-links=false",
    `--registry=${registry}`,
    `--cache=${join(cacheDir, "npm")}`,
  ];
  try {
    await run("npm", args, { cwd: dir, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 4 * 1024 * 1024 });
  } catch (err) {
    const failure = err as { code?: unknown; killed?: boolean; stderr?: string; message?: string };
    // The platform's fault, not the upload's: a 500, not a build error.
    if (failure.code === "ENOENT") throw new Error("npm is not on the gateway's PATH; it is needed to install packages");
    if (failure.killed) throw new IsleError("build_failed", `installing npm packages took longer than ${timeoutMs} ms`);
    const lines = (failure.stderr ?? failure.message ?? "")
      .split("\n")
      .filter((l) => l.startsWith("npm error") && !l.includes("A complete log"))
      .slice(0, 4)
      .map((l) => l.replaceAll(dir, "."));
    throw new IsleError("build_failed", `installing npm packages failed: ${lines.join(" / ") || "npm exited with an error"}`);
  }
}

/**
 * Refuses dependency ranges that are not registry ranges (file:, git, URLs),
 * naming the package.
 */
export function checkDependencies(source: string, deps: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (deps === undefined) return out;
  if (!deps || typeof deps !== "object" || Array.isArray(deps)) throw new IsleError("build_failed", `${source}: "dependencies" must be an object`);
  for (const [name, range] of Object.entries(deps)) {
    if (!isPackageName(name)) throw new IsleError("build_failed", `${source}: ${JSON.stringify(name)} is not a package name`);
    if (typeof range !== "string" || !isRegistryRange(range)) {
      throw new IsleError("build_failed", `${source}: ${name}@${JSON.stringify(range)}: only versions, ranges and tags from the npm registry can be installed`);
    }
    out.set(name, range);
  }
  return out;
}

/** Every package of an uploaded lockfile must come from the registry, as a tarball. */
function checkLock(lock: Record<string, unknown>, registry: string): void {
  const packages = lock.packages;
  if (!packages || typeof packages !== "object") return;
  for (const [path, entry] of Object.entries(packages as Record<string, Record<string, unknown>>)) {
    if (path === "") continue;
    const resolved = entry?.resolved;
    const linked = entry?.link === true;
    if (linked || (resolved !== undefined && (typeof resolved !== "string" || !resolved.startsWith(registry)))) {
      throw new IsleError("build_failed", `package-lock.json: ${path} is not a package from ${registry}`);
    }
  }
}
