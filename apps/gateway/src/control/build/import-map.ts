import { posix } from "node:path";
import { IsleError } from "@isle/errors";
import type { SourceFile } from "./source-files.js";

/**
 * The top-level `imports` of an import map, with relative targets already
 * made relative to the upload's root (`./src/x.ts`). Scopes are not read:
 * Deno and Supabase projects rarely use them (ADR 0005).
 */
export interface ImportMap {
  /** Where the map came from, for error messages. */
  file: string;
  imports: Record<string, string>;
}

/**
 * Finds the import map of an upload the way Deno does: `deno.json` or
 * `deno.jsonc` at the root with `imports`, or an `importMap` field naming
 * a file, else `import_map.json` at the root. None → undefined.
 */
export function loadImportMap(files: SourceFile[]): ImportMap | undefined {
  const byPath = new Map(files.map((f) => [f.path, f]));
  for (const name of ["deno.json", "deno.jsonc"]) {
    const file = byPath.get(name);
    if (!file) continue;
    const config = parseJson(name, file.content);
    if (config.imports !== undefined) return toImportMap(name, config.imports);
    if (typeof config.importMap === "string") {
      const target = posix.normalize(config.importMap).replace(/^\.\//, "");
      const mapFile = byPath.get(target);
      if (!mapFile) throw new IsleError("build_failed", `${name}: importMap ${JSON.stringify(config.importMap)} is not among the uploaded files`);
      return toImportMap(target, parseJson(target, mapFile.content).imports);
    }
  }
  const plain = byPath.get("import_map.json");
  return plain ? toImportMap("import_map.json", parseJson("import_map.json", plain.content).imports) : undefined;
}

/**
 * Maps a specifier through the map: an exact key first, else the longest
 * key ending in `/` that prefixes it (the import-maps rule). Unmapped → the
 * specifier unchanged.
 */
export function applyImportMap(map: ImportMap | undefined, specifier: string): string {
  if (!map) return specifier;
  const exact = map.imports[specifier];
  if (exact !== undefined) return exact;
  let best: string | undefined;
  for (const key of Object.keys(map.imports)) {
    if (key.endsWith("/") && specifier.startsWith(key) && key.length > (best?.length ?? 0)) best = key;
  }
  return best === undefined ? specifier : map.imports[best] + specifier.slice(best.length);
}

function toImportMap(file: string, imports: unknown): ImportMap {
  if (imports === undefined) return { file, imports: {} };
  if (!imports || typeof imports !== "object" || Array.isArray(imports)) {
    throw new IsleError("build_failed", `${file}: "imports" must be an object of specifier → target`);
  }
  const base = posix.dirname(file);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(imports)) {
    if (typeof value !== "string") throw new IsleError("build_failed", `${file}: the target of ${JSON.stringify(key)} must be a string`);
    if (key.endsWith("/") && !value.endsWith("/")) {
      throw new IsleError("build_failed", `${file}: ${JSON.stringify(key)} ends with "/", so its target must too`);
    }
    // Relative targets are relative to the map file; keep them relative to the root.
    const relative = value.startsWith("./") || value.startsWith("../");
    out[key] = relative ? `./${posix.join(base, value)}${value.endsWith("/") ? "/" : ""}` : value;
  }
  return { file, imports: out };
}

function parseJson(file: string, content: Uint8Array): Record<string, unknown> {
  const text = Buffer.from(content).toString("utf8");
  try {
    const value: unknown = JSON.parse(file.endsWith(".jsonc") ? stripJsonComments(text) : text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (err) {
    throw new IsleError("build_failed", `${file}: invalid JSON: ${(err as Error).message}`);
  }
  throw new IsleError("build_failed", `${file}: expected a JSON object`);
}

/** JSONC → JSON: drops comments and trailing commas, leaving strings untouched. */
export function stripJsonComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 1;
    } else if (ch === "}" || ch === "]") {
      // A trailing comma: the last thing before the bracket outside any string.
      out = out.replace(/,\s*$/, "") + ch;
    } else {
      out += ch;
    }
  }
  return out;
}
