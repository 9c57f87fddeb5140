import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { stdServeModule } from "./runtime-shims.js";

// Ways a module registers a handler without exporting one. Matched on source
// text, so they can be fooled by a comment (then the function deploys and
// answers function_error): the check exists to catch the common mistake of
// forgetting the handler, not to prove one exists (ADR 0005).
const registrations = [
  /\bDeno\s*\.\s*serve\b/,
  /\{\s*serve\s*\}\s*=\s*Deno\b/,
  /\baddEventListener\s*\(\s*["'`]fetch["'`]/,
];

/**
 * Whether the function has a handler, decided without running tenant code:
 * its entry exports default (read by esbuild from that one file, unbundled),
 * or some bundled module calls Deno.serve or adds a fetch listener, or it
 * imports the std serve shim.
 */
export async function hasHandler(srcDir: string, entryPath: string, metafile: Metafile): Promise<boolean> {
  if (Object.keys(metafile.inputs).some((input) => input.endsWith(stdServeModule))) return true;
  if (await exportsDefault(srcDir, entryPath)) return true;
  for (const input of Object.keys(metafile.inputs)) {
    if (input.includes(":")) continue; // virtual modules: our shims
    const text = await readFile(join(srcDir, input), "utf8").catch(() => "");
    if (registrations.some((pattern) => pattern.test(text))) return true;
  }
  return false;
}

async function exportsDefault(srcDir: string, entryPath: string): Promise<boolean> {
  const result = await build({
    absWorkingDir: srcDir,
    entryPoints: [entryPath],
    bundle: false,
    write: false,
    format: "esm",
    outfile: "entry.js",
    metafile: true,
    logLevel: "silent",
  });
  return Object.values(result.metafile.outputs).some((output) => output.exports.includes("default"));
}
