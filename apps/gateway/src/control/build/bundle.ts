import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build, type BuildFailure, type Message } from "esbuild";
import { IsleError } from "@isle/errors";
import { artifactHash, encodeArtifact, type ArtifactManifest } from "@isle/proto";
import { hasHandler } from "./handler-check.js";
import { loadImportMap } from "./import-map.js";
import { checkDependencies, defaultRegistry, installPackages } from "./npm-install.js";
import { isleResolvePlugin, type ResolveOptions } from "./resolve-plugin.js";
import { chooseEntry, normalizeSourcePaths, type SourceFile } from "./source-files.js";

export interface BuildInput {
  files: SourceFile[];
  entry?: string | undefined;
  maxBundleBytes: number;
  /** Where npm keeps downloaded packages between builds; default under the OS temp dir. */
  cacheDir?: string | undefined;
  /** Longest an npm install may take; default two minutes. */
  installTimeoutMs?: number | undefined;
  /** The npm registry to install from; default the public one. */
  registry?: string | undefined;
  /** Progress lines for a person watching the build (npm installs take a while). */
  onProgress?: ((line: string) => void) | undefined;
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

const noHandler = 'no handler: export default { fetch(request, env, ctx) { ... } }, call Deno.serve(handler), or addEventListener("fetch", ...)';

/**
 * Bundles uploaded sources into one ES module with esbuild, in a private
 * temporary directory that is removed afterwards. The module's default
 * export is a generated wrapper that answers with whichever handler style the
 * function used (ADR 0005). npm packages the sources import are installed
 * first, unless the upload brings its own node_modules. Failures are
 * `build_failed` (422) naming file:line:column, so a broken upload never
 * becomes a live version.
 */
export async function bundleFunction(input: BuildInput): Promise<BuiltArtifact> {
  const sources = normalizeSourcePaths(input.files);
  const entryPath = chooseEntry(sources, input.entry);
  const importMap = loadImportMap(sources);
  const root = await mkdtemp(join(tmpdir(), "isle-build-"));
  const srcDir = join(root, "src");
  const depsDir = join(root, "deps");
  try {
    for (const file of sources) {
      const target = join(srcDir, file.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content, { flag: "wx" });
    }
    const uploadedModules = sources.some((f) => f.path.startsWith("node_modules/"));
    const packages = new Map<string, Set<string | undefined>>();
    const run = (mode: "collect" | "build") =>
      esbuildRun({ srcDir, packageDirs: [depsDir], entryPath, importMap, mode, packages });
    // With no node_modules uploaded, a first pass finds the packages to install;
    // when it finds none, its output is the bundle.
    let result = await run(uploadedModules ? "build" : "collect");
    if (!uploadedModules && packages.size > 0) {
      input.onProgress?.(`installing npm packages: ${[...packages.keys()].join(", ")}`);
      await installPackages({
        dependencies: dependencyRanges(packages, sources),
        lock: readLock(sources),
        dir: depsDir,
        cacheDir: input.cacheDir ?? join(tmpdir(), "isle-build-cache"),
        timeoutMs: input.installTimeoutMs ?? 120_000,
        registry: input.registry ?? defaultRegistry,
      });
      result = await run("build");
    }
    const output = result.outputFiles.find((f) => f.path.endsWith(".js"));
    if (!output) throw new IsleError("build_failed", "the build produced no module");
    if (!(await hasHandler(srcDir, entryPath, result.metafile))) {
      throw new IsleError("build_failed", `${entryPath}: ${noHandler}`, {
        diagnostics: [{ file: entryPath, line: undefined, column: undefined, message: "no handler" }],
      });
    }
    if (output.contents.byteLength > input.maxBundleBytes) {
      throw new IsleError("build_failed", `the bundle is ${output.contents.byteLength} bytes, over the limit of ${input.maxBundleBytes}`);
    }
    const manifest: ArtifactManifest = { format: 1, mainModule: "worker.js", modules: { "worker.js": output.text } };
    const bytes = encodeArtifact(manifest);
    return { hash: artifactHash(bytes), bytes, entry: entryPath };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function esbuildRun(options: ResolveOptions) {
  return build({
    absWorkingDir: options.srcDir,
    entryPoints: [options.entryPath],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    nodePaths: options.packageDirs.map((dir) => join(dir, "node_modules")),
    plugins: [isleResolvePlugin(options)],
    outfile: "worker.js",
    metafile: true,
    logLevel: "silent",
    legalComments: "none",
  }).catch((err: unknown) => {
    throw buildError(err);
  });
}

/** One range per package: the one its imports name, else package.json's, else latest. */
function dependencyRanges(packages: Map<string, Set<string | undefined>>, sources: SourceFile[]): Map<string, string> {
  const manifest = sources.find((f) => f.path === "package.json");
  const declared = manifest ? checkDependencies("package.json", parseJsonFile(manifest).dependencies) : new Map<string, string>();
  const out = new Map(declared);
  for (const [name, ranges] of packages) {
    const written = [...ranges].filter((r): r is string => r !== undefined);
    if (new Set(written).size > 1) {
      throw new IsleError("build_failed", `npm package "${name}" is imported at different versions: ${written.join(", ")}`);
    }
    out.set(name, written[0] ?? declared.get(name) ?? "latest");
  }
  return out;
}

function readLock(sources: SourceFile[]): Record<string, unknown> | undefined {
  const lock = sources.find((f) => f.path === "package-lock.json");
  return lock ? parseJsonFile(lock) : undefined;
}

function parseJsonFile(file: SourceFile): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(file.content).toString("utf8"));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new IsleError("build_failed", `${file.path}: not a JSON object`);
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
