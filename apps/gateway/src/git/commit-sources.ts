import { posix } from "node:path";
import { IsleError } from "@isle/errors";
import type { SourceFile } from "../control/build/source-files.js";
import { runGit } from "./git-command.js";

/** One entry of `git ls-tree -r`: a file, a symbolic link or a submodule. */
export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  /** Bytes, as git stores them; "-" for submodules. */
  size: number;
  path: string;
}

export interface CommitLimits {
  maxFiles: number;
  /** The sum of the files' sizes. */
  maxBytes: number;
}

const maxLinkHops = 8;

/**
 * The files of one commit, read from the object database (the quarantine of a push in
 * progress, through `env`), never from a checkout: nothing of the tenant's reaches the disk
 * before the build writes it into its own directory, so no link can make the build read
 * outside the repository. Symbolic links to files inside the tree become copies of those
 * files; links out of the tree, to directories or to nothing, submodules, and unsafe paths
 * are refused naming the path.
 */
export async function readCommitSources(commit: string, env: NodeJS.ProcessEnv, limits: CommitLimits): Promise<SourceFile[]> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new Error(`not a commit id: ${commit}`);
  const listing = await runGit(["ls-tree", "-r", "-z", "-l", "--full-tree", commit], env);
  const entries = parseTree(listing);
  checkEntries(entries, limits);
  const contents = await readBlobs(entries.map((e) => e.oid), env);
  return materialise(entries, contents);
}

/** Parses `git ls-tree -r -z -l` output. */
export function parseTree(listing: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of listing.toString("utf8").split("\0")) {
    if (record === "") continue;
    const tab = record.indexOf("\t");
    const [mode = "", type = "", oid = "", size = ""] = record.slice(0, tab).split(/ +/);
    entries.push({ mode, type, oid, size: size === "-" ? 0 : Number(size), path: record.slice(tab + 1) });
  }
  return entries;
}

/** Refuses what a function's sources may not contain, before any content is read. */
export function checkEntries(entries: readonly TreeEntry[], limits: CommitLimits): void {
  if (entries.length > limits.maxFiles) throw new IsleError("validation_failed", `the commit has ${entries.length} files; a deployment has at most ${limits.maxFiles}`);
  let total = 0;
  for (const entry of entries) {
    if (!safePath(entry.path)) throw new IsleError("validation_failed", `unsafe path ${JSON.stringify(entry.path)} in the commit`);
    if (entry.mode === "160000") throw new IsleError("validation_failed", `${entry.path}: submodules are not supported; commit the files instead`);
    if (entry.type !== "blob" || !["100644", "100755", "120000"].includes(entry.mode)) {
      throw new IsleError("validation_failed", `${entry.path}: unsupported entry (mode ${entry.mode})`);
    }
    total += entry.size;
  }
  if (total > limits.maxBytes) throw new IsleError("payload_too_large", `the commit's files are ${total} bytes, over the limit of ${limits.maxBytes}`);
}

/** Relative, no empty, `.`, `..` or `.git` segment, no backslash or control character. */
function safePath(path: string): boolean {
  if (path.length === 0 || path.length > 512 || path.startsWith("/") || path.includes("\\") || /[\u0000-\u001f\u007f]/.test(path)) return false;
  return path.split("/").every((s) => s !== "" && s !== "." && s !== ".." && s.toLowerCase() !== ".git");
}

/** Files as the build takes them; a link inside the tree is replaced by its target's bytes. */
export function materialise(entries: readonly TreeEntry[], contents: ReadonlyMap<string, Buffer>): SourceFile[] {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const content = (entry: TreeEntry) => {
    const bytes = contents.get(entry.oid);
    if (!bytes) throw new Error(`object ${entry.oid} was not read`);
    return bytes;
  };
  return entries.map((entry) => {
    let current = entry;
    for (let hops = 0; current.mode === "120000"; hops++) {
      if (hops >= maxLinkHops) throw new IsleError("validation_failed", `${entry.path}: too many levels of symbolic links`);
      const target = content(current).toString("utf8");
      const resolved = posix.normalize(posix.join(posix.dirname(current.path), target));
      if (target.startsWith("/") || resolved === ".." || resolved.startsWith("../")) {
        throw new IsleError("validation_failed", `${entry.path}: symbolic link to ${JSON.stringify(target)} points outside the repository`);
      }
      const next = byPath.get(resolved);
      if (!next) throw new IsleError("validation_failed", `${entry.path}: symbolic link to ${JSON.stringify(target)} does not name a file in the repository`);
      current = next;
    }
    // Git keeps one permission bit: executable (100755) or not; container functions keep it.
    return { path: entry.path, content: new Uint8Array(content(current)), mode: current.mode === "100755" ? 0o755 : 0o644 };
  });
}

/** Reads blobs with one `git cat-file --batch`. */
async function readBlobs(oids: string[], env: NodeJS.ProcessEnv): Promise<Map<string, Buffer>> {
  const unique = [...new Set(oids)];
  const out = await runGit(["cat-file", "--batch"], env, unique.map((oid) => `${oid}\n`).join(""));
  const contents = new Map<string, Buffer>();
  let at = 0;
  while (at < out.length) {
    const newline = out.indexOf(0x0a, at);
    const [oid = "", type, size = ""] = out.subarray(at, newline).toString().split(" ");
    if (type !== "blob") throw new Error(`object ${oid} is ${type ?? "missing"}, not a blob`);
    const length = Number(size);
    contents.set(oid, out.subarray(newline + 1, newline + 1 + length));
    at = newline + 1 + length + 1;
  }
  return contents;
}
