/**
 * What a container function's artifact holds: its directory, file by file,
 * and the root filesystem it runs on (ADR 0029). The gateway packs it at
 * deploy; agents fetch it by hash, write the files out once per hash and
 * mount them read-only at `/app`. It starts with a fixed magic line so an
 * agent tells it from an isolate artifact (JSON, starting with `{`) by its
 * first bytes, without parsing either.
 */
export interface ContainerArtifact {
  /** The root filesystem kind the function needs (`infra/rootfs/build.sh <kind>`). */
  rootfs: ContainerRootfs;
  /** The entry file, relative to `/app`: `handler.py`, `index.js`, or the executable. */
  entry: string;
  files: ContainerFile[];
}

export type ContainerRootfs = "python3" | "node" | "exec";
export const containerRootfsKinds: readonly ContainerRootfs[] = ["python3", "node", "exec"];

export interface ContainerFile {
  /** Relative, forward slashes, no `..` (checked again when decoding). */
  path: string;
  /** Permission bits: 0o755 for executables, 0o644 otherwise. */
  mode: number;
  content: Buffer;
}

const magic = "ISLE-CONTAINER-ARTIFACT 1\n";
const magicBytes = Buffer.from(magic, "utf8");

/** True when `bytes` are a container artifact rather than an isolate's. */
export function isContainerArtifact(bytes: Uint8Array): boolean {
  return bytes.length >= magicBytes.length && Buffer.from(bytes.buffer, bytes.byteOffset, magicBytes.length).equals(magicBytes);
}

export function encodeContainerArtifact(artifact: ContainerArtifact): Buffer {
  const body = {
    rootfs: artifact.rootfs,
    entry: artifact.entry,
    // Sorted, so the same directory always packs to the same hash.
    files: [...artifact.files]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((f) => ({ path: f.path, mode: f.mode, content: f.content.toString("base64") })),
  };
  return Buffer.concat([magicBytes, Buffer.from(JSON.stringify(body), "utf8")]);
}

/** Parses and checks a container artifact; throws on anything malformed or any path leaving its root. */
export function decodeContainerArtifact(bytes: Uint8Array): ContainerArtifact {
  if (!isContainerArtifact(bytes)) throw new Error("not a container artifact");
  const value: unknown = JSON.parse(Buffer.from(bytes).subarray(magicBytes.length).toString("utf8"));
  if (typeof value !== "object" || value === null) throw new Error("container artifact is not an object");
  const { rootfs, entry, files } = value as Record<string, unknown>;
  if (!containerRootfsKinds.includes(rootfs as ContainerRootfs)) throw new Error(`unknown rootfs kind ${String(rootfs)}`);
  if (typeof entry !== "string" || !safeRelativePath(entry)) throw new Error("container artifact has no valid entry");
  if (!Array.isArray(files)) throw new Error("container artifact has no files");
  const decoded = files.map((file: unknown): ContainerFile => {
    const { path, mode, content } = (file ?? {}) as Record<string, unknown>;
    if (typeof path !== "string" || !safeRelativePath(path)) throw new Error(`container artifact file path ${JSON.stringify(path)} is invalid`);
    if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new Error(`file ${path} has an invalid mode`);
    if (typeof content !== "string") throw new Error(`file ${path} has no content`);
    return { path, mode, content: Buffer.from(content, "base64") };
  });
  if (!decoded.some((f) => f.path === entry)) throw new Error("container artifact entry is missing");
  return { rootfs: rootfs as ContainerRootfs, entry, files: decoded };
}

function safeRelativePath(path: string): boolean {
  const segments = path.split("/");
  return path.length > 0 && path.length <= 512 && !path.startsWith("/") && !path.includes("\\") && !/[\u0000-\u001f]/.test(path) && segments.every((s) => s !== "" && s !== "." && s !== "..");
}
