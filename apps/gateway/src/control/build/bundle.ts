import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build, type BuildFailure, type Message } from "esbuild";
import { IsleError } from "@isle/errors";
import { artifactHash, encodeArtifact, type ArtifactManifest } from "@isle/proto";
import { chooseEntry, normalizeSourcePaths, type SourceFile } from "./source-files.js";

export interface BuildInput {
  files: SourceFile[];
  entry?: string | undefined;
  maxBundleBytes: number;
}

export interface BuiltArtifact {
  hash: string;
  bytes: Buffer;
  entry: string;
}

/** One build problem, located in the uploaded sources. */
export interface BuildDiagnostic {
  file: string | undefined;
  line: number | undefined;
  column: number | undefined;
  message: string;
}

/**
 * Bundles uploaded sources into one ES module with esbuild, in a private
 * temporary directory that is removed afterwards. Failures are `build_failed`
 * (422) naming file:line:column, so a broken upload never becomes a live
 * version.
 */
export async function bundleFunction({ files, entry, maxBundleBytes }: BuildInput): Promise<BuiltArtifact> {
  const sources = normalizeSourcePaths(files);
  const entryPath = chooseEntry(sources, entry);
  const dir = await mkdtemp(join(tmpdir(), "isle-build-"));
  try {
    for (const file of sources) {
      const target = join(dir, file.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content, { flag: "wx" });
    }
    const result = await build({
      absWorkingDir: dir,
      entryPoints: [entryPath],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      external: ["node:*", "cloudflare:*"],
      outfile: "worker.js",
      metafile: true,
      logLevel: "silent",
      legalComments: "none",
    }).catch((err: unknown) => {
      throw buildError(err);
    });
    const output = result.outputFiles.find((f) => f.path.endsWith(".js"));
    if (!output) throw new IsleError("build_failed", "the build produced no module");
    const exports = Object.values(result.metafile.outputs)[0]?.exports ?? [];
    if (!exports.includes("default")) {
      throw new IsleError("build_failed", `${entryPath}: no handler: export default { fetch(request, env, ctx) { ... } }`, {
        diagnostics: [{ file: entryPath, line: undefined, column: undefined, message: "no default export" }],
      });
    }
    if (output.contents.byteLength > maxBundleBytes) {
      throw new IsleError("build_failed", `the bundle is ${output.contents.byteLength} bytes, over the limit of ${maxBundleBytes}`);
    }
    const manifest: ArtifactManifest = { format: 1, mainModule: "worker.js", modules: { "worker.js": output.text } };
    const bytes = encodeArtifact(manifest);
    return { hash: artifactHash(bytes), bytes, entry: entryPath };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function buildError(err: unknown): IsleError {
  const failure = err as Partial<BuildFailure>;
  if (!Array.isArray(failure.errors)) return new IsleError("build_failed", "the build failed");
  const diagnostics = failure.errors.map(toDiagnostic);
  const first = diagnostics[0];
  const where = first?.file ? `${first.file}:${first.line}:${first.column}: ` : "";
  return new IsleError("build_failed", `${where}${first?.message ?? "the build failed"}`, { diagnostics });
}

function toDiagnostic(message: Message): BuildDiagnostic {
  const loc = message.location;
  // esbuild columns are 0-based; editors and users count from 1.
  return { file: loc?.file, line: loc?.line, column: loc ? loc.column + 1 : undefined, message: message.text };
}
