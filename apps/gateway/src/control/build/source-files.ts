import { IsleError } from "@isle/errors";

/** An uploaded source file: its path relative to the function's root, and bytes. */
export interface SourceFile {
  path: string;
  content: Uint8Array;
  /** Permission bits when the upload carried them (a tar does, multipart does not). */
  mode?: number | undefined;
}

/** Entry files tried in order when the upload names none (DESIGN.md §4). */
export const defaultEntries = ["index.ts", "index.js", "main.ts", "main.js", "mod.ts"];

const maxFiles = 1000;

/**
 * Checks an upload's paths before anything touches the disk: relative,
 * forward slashes, no `..`, no empty or dot segments, no control characters,
 * no duplicates. A path that fails is the client's error, named in the answer.
 */
export function normalizeSourcePaths(files: SourceFile[]): SourceFile[] {
  if (files.length === 0) throw new IsleError("validation_failed", "the deployment has no files");
  if (files.length > maxFiles) throw new IsleError("validation_failed", `a deployment has at most ${maxFiles} files`);
  const seen = new Set<string>();
  return files.map((file) => {
    const path = file.path.replace(/^\.\//, "");
    const segments = path.split("/");
    const bad =
      path.length === 0 ||
      path.length > 512 ||
      path.startsWith("/") ||
      path.includes("\\") ||
      /[\u0000-\u001f\u007f]/.test(path) ||
      segments.some((s) => s === "" || s === "." || s === "..");
    if (bad) throw new IsleError("validation_failed", `invalid file path ${JSON.stringify(file.path)}`);
    if (seen.has(path)) throw new IsleError("validation_failed", `file ${JSON.stringify(path)} appears twice`);
    seen.add(path);
    return { path, content: file.content, mode: file.mode };
  });
}

/** The entry module: the one named, or the first default present at the top. */
export function chooseEntry(files: SourceFile[], requested: string | undefined): string {
  const paths = new Set(files.map((f) => f.path));
  if (requested !== undefined) {
    const entry = requested.replace(/^\.\//, "");
    if (!paths.has(entry)) throw new IsleError("validation_failed", `entry ${JSON.stringify(requested)} is not among the uploaded files`);
    return entry;
  }
  const entry = defaultEntries.find((name) => paths.has(name));
  if (!entry) {
    throw new IsleError("validation_failed", `no entry file: upload one of ${defaultEntries.join(", ")} or name it in the "entry" field`);
  }
  return entry;
}
