import { IsleError } from "@isle/errors";
import { artifactHash, encodeContainerArtifact, type ContainerRootfs } from "@isle/proto";
import type { BuiltArtifact } from "./bundle.js";
import { normalizeSourcePaths, type SourceFile } from "./source-files.js";

/** Entry files of a container function tried in order when the upload names none (ADR 0028). */
export const containerEntries = ["handler.py", "index.js", "index.cjs", "index.mjs", "handler"];

/** The entries each watchdog looks for in /app; a Python or Node function must use one of them. */
const watchdogEntries: Record<Exclude<ContainerRootfs, "exec">, string[]> = {
  python3: ["handler.py"],
  node: ["index.js", "index.cjs", "index.mjs"],
};

/**
 * Packs a container function's directory as it is — no bundling, nothing
 * run — into a container artifact (ADR 0029). The entry picks the root
 * filesystem: `handler.py` runs on `python3`, `index.js` on `node`, any other
 * file on `exec` as the executable the watchdog runs per request (and is
 * made executable whatever mode it was uploaded with). Other files keep an
 * executable bit the upload carried. Problems are `validation_failed`.
 */
export function packContainer(input: { files: SourceFile[]; entry?: string | undefined; maxBundleBytes: number }): BuiltArtifact {
  const sources = normalizeSourcePaths(input.files);
  const paths = new Set(sources.map((f) => f.path));
  const requested = input.entry?.replace(/^\.\//, "");
  if (requested !== undefined && !paths.has(requested)) {
    throw new IsleError("validation_failed", `entry ${JSON.stringify(input.entry)} is not among the uploaded files`);
  }
  const entry = requested ?? containerEntries.find((name) => paths.has(name));
  if (!entry) {
    throw new IsleError(
      "validation_failed",
      `no entry file for a container function: upload handler.py (Python), index.js (Node.js) or an executable named handler, or name one in the "entry" field`,
    );
  }
  const rootfs = rootfsFor(entry);
  const files = sources.map((f) => ({
    path: f.path,
    mode: f.path === entry && rootfs === "exec" ? 0o755 : (f.mode ?? 0) & 0o111 ? 0o755 : 0o644,
    content: Buffer.from(f.content),
  }));
  const bytes = encodeContainerArtifact({ rootfs, entry, files });
  if (bytes.byteLength > input.maxBundleBytes) {
    throw new IsleError("build_failed", `the packed function is ${bytes.byteLength} bytes, over the limit of ${input.maxBundleBytes}`);
  }
  return { hash: artifactHash(bytes), bytes, entry };
}

function rootfsFor(entry: string): ContainerRootfs {
  if (entry.endsWith(".py")) {
    if (!watchdogEntries.python3.includes(entry)) throw new IsleError("validation_failed", `a Python function's entry is handler.py, not ${entry}`);
    return "python3";
  }
  if (/\.[cm]?js$/.test(entry)) {
    if (!watchdogEntries.node.includes(entry)) throw new IsleError("validation_failed", `a Node.js container function's entry is index.js, not ${entry}`);
    return "node";
  }
  return "exec";
}
