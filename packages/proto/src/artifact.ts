import { createHash } from "node:crypto";

/**
 * What a deployment's artifact holds: the bundled code in the shape workerd's
 * Worker Loader takes (`mainModule` plus `modules`, each an ES module source).
 * The gateway builds it; agents fetch it by hash and hand it to workerd.
 * Serialised as JSON; its identity is the SHA-256 of those bytes.
 */
export interface ArtifactManifest {
  /** Bumped when the shape changes; agents refuse versions they do not know. */
  format: 1;
  mainModule: string;
  /** Module name → ES module source. */
  modules: Record<string, string>;
}

export function encodeArtifact(manifest: ArtifactManifest): Buffer {
  return Buffer.from(JSON.stringify(manifest), "utf8");
}

/** Parses and checks an artifact's bytes; throws on anything malformed. */
export function decodeArtifact(bytes: Uint8Array): ArtifactManifest {
  const value: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
  if (typeof value !== "object" || value === null) throw new Error("artifact is not an object");
  const { format, mainModule, modules } = value as Record<string, unknown>;
  if (format !== 1) throw new Error(`unknown artifact format ${String(format)}`);
  if (typeof mainModule !== "string") throw new Error("artifact has no mainModule");
  if (typeof modules !== "object" || modules === null) throw new Error("artifact has no modules");
  for (const [name, source] of Object.entries(modules)) {
    if (typeof source !== "string") throw new Error(`artifact module ${name} is not a string`);
  }
  if (!Object.hasOwn(modules, mainModule)) throw new Error("artifact mainModule is missing");
  return { format, mainModule, modules: modules as Record<string, string> };
}

/** Content hash of artifact bytes: lowercase hex SHA-256. */
export function artifactHash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
