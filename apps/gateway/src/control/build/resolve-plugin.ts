import { isBuiltin } from "node:module";
import { relative, resolve as resolvePath, sep } from "node:path";
import type { OnResolveArgs, OnResolveResult, Plugin, PluginBuild } from "esbuild";
import { applyImportMap, type ImportMap } from "./import-map.js";
import { parsePackageImport } from "./npm-specifier.js";
import { runtimeModule, runtimeShimSource, stdServeModule, stdServeShimSource, wrapperModule, wrapperSource } from "./runtime-shims.js";

/** Versioned URLs of Deno's std `http/server.ts`, whose `serve` has a built-in shim. */
const stdServeUrl = /^https:\/\/deno\.land\/std@[^/]+\/http\/server\.ts$/;
const urlScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
const virtual = "isle";

/** What the resolver needs to know about one build. */
export interface ResolveOptions {
  /** Absolute directory holding the uploaded sources. */
  srcDir: string;
  /** Absolute directories code may also come from (installed packages). */
  packageDirs: string[];
  entryPath: string;
  importMap: ImportMap | undefined;
  /**
   * "collect": record npm packages and leave them external, so they can be
   * installed before the real build; "build": resolve them from disk.
   */
  mode: "collect" | "build";
  /** Filled in collect mode: package name → the ranges its imports asked for. */
  packages: Map<string, Set<string | undefined>>;
}

/**
 * The esbuild plugin that makes imports resolve as Deno and Workers users
 * expect (DESIGN.md §3): the wrapper entry and shims, import maps, `npm:`
 * and bare packages, `node:` built-ins, Deno's std serve, and an error
 * naming any other remote URL. Nothing resolves outside the upload and the
 * installed packages.
 */
export function isleResolvePlugin(options: ResolveOptions): Plugin {
  return {
    name: "isle-resolve",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => resolveOne(build, options, args));
      build.onLoad({ filter: /.*/, namespace: virtual }, (args) => ({
        contents: shimContents(args.path, options.entryPath),
        loader: "js",
        resolveDir: options.srcDir,
      }));
    },
  };
}

function shimContents(path: string, entryPath: string): string {
  if (path === wrapperModule) return wrapperSource(entryPath);
  if (path === runtimeModule) return runtimeShimSource;
  if (path === stdServeModule) return stdServeShimSource;
  throw new Error(`unknown virtual module ${path}`); // a bug: only ours are in this namespace
}

async function resolveOne(build: PluginBuild, options: ResolveOptions, args: OnResolveArgs): Promise<OnResolveResult | undefined> {
  if ((args.pluginData as { isle?: boolean } | undefined)?.isle) return undefined; // our own build.resolve below
  if (args.kind === "entry-point") return { path: wrapperModule, namespace: virtual };
  if (args.namespace === virtual && (args.path === runtimeModule || args.path === stdServeModule)) {
    return { path: args.path, namespace: virtual };
  }
  const inPackage = args.importer.split(sep).includes("node_modules");
  // Import maps apply to the function's own modules; packages resolve the Node way.
  const specifier = inPackage ? args.path : applyImportMap(options.importMap, args.path);
  const mapped = specifier === args.path ? "" : ` (mapped by ${options.importMap?.file} to "${specifier}")`;

  if (specifier.startsWith("node:") || specifier.startsWith("cloudflare:")) return { path: specifier, external: true };
  if (stdServeUrl.test(specifier)) return { path: stdServeModule, namespace: virtual };
  if (specifier.startsWith("npm:")) return resolvePackage(build, options, args, specifier, mapped);
  if (urlScheme.test(specifier)) {
    return fail(`remote import "${args.path}"${mapped} is not supported: Isle bundles at deploy time and fetches only npm packages (use "npm:" or upload the module)`);
  }
  if (specifier.startsWith("/")) return fail(`import "${args.path}"${mapped}: absolute paths are not allowed; import relative to the file`);
  if (specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..") {
    // Mapped relative targets are relative to the upload's root, not the importer.
    const resolveDir = mapped ? options.srcDir : args.resolveDir;
    return resolveInside(build, options, args, specifier, resolveDir, mapped);
  }
  if (inPackage) return resolveInside(build, options, args, specifier, args.resolveDir, "");
  const bare = specifier.split("/")[0] ?? "";
  if (isBuiltin(specifier) || isBuiltin(bare)) return { path: `node:${specifier}`, external: true };
  return resolvePackage(build, options, args, specifier, mapped);
}

async function resolvePackage(
  build: PluginBuild,
  options: ResolveOptions,
  args: OnResolveArgs,
  specifier: string,
  mapped: string,
): Promise<OnResolveResult> {
  const parsed = parsePackageImport(specifier);
  if (!parsed) return fail(`"${args.path}"${mapped} is not a valid npm package import`);
  const bare = parsed.name + parsed.subpath;
  if (options.mode === "collect") {
    const ranges = options.packages.get(parsed.name) ?? new Set();
    ranges.add(parsed.range);
    options.packages.set(parsed.name, ranges);
    return { path: bare, external: true };
  }
  return resolveInside(build, options, args, bare, args.resolveDir, mapped);
}

/** esbuild's own resolution, kept inside the upload and the installed packages. */
async function resolveInside(
  build: PluginBuild,
  options: ResolveOptions,
  args: OnResolveArgs,
  specifier: string,
  resolveDir: string,
  mapped: string,
): Promise<OnResolveResult> {
  const result = await build.resolve(specifier, { kind: args.kind, importer: args.importer, resolveDir, pluginData: { isle: true } });
  if (result.errors.length > 0) {
    const first = result.errors[0];
    return fail(`${first?.text ?? `could not resolve "${args.path}"`}${mapped}`);
  }
  if (result.external || result.namespace !== "file") return result;
  const roots = [options.srcDir, ...options.packageDirs];
  const inside = roots.some((root) => {
    const rel = relative(root, result.path);
    return rel !== "" && !rel.startsWith("..") && resolvePath(root, rel) === result.path;
  });
  if (!inside) return fail(`import "${args.path}"${mapped} points outside the uploaded files`);
  return result;
}

function fail(text: string): OnResolveResult {
  return { errors: [{ text }] };
}
