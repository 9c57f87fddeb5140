import { lstatSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import ignore from "ignore";
import { usageError } from "../http/cli-error.js";
import type { UploadFile } from "./tar.js";

export interface CollectOptions {
  /** Upload node_modules too (private packages the build cannot fetch); off by default. */
  includeNodeModules?: boolean;
}

/** What a walk found: the files to upload, and what it left out on purpose. */
export interface Collected {
  files: UploadFile[];
  /** Symbolic links: the server refuses links, so they are skipped with a note. */
  skippedLinks: string[];
}

/**
 * The files of a function's directory to upload, in path order. Left out: `.git`, `node_modules`
 * (the build installs npm packages itself from package.json and the lockfile), and whatever the
 * directory's own `.gitignore` and `.isleignore` list (gitignore syntax, top-level files only).
 */
export function collectFiles(dir: string, options: CollectOptions = {}): Collected {
  const rules = ignore().add([".git/", ".isle/"]);
  if (!options.includeNodeModules) rules.add("node_modules/");
  for (const file of [".gitignore", ".isleignore"]) {
    try {
      rules.add(readFileSync(join(dir, file), "utf8"));
    } catch {
      // no such file: nothing to add
    }
  }
  const files: UploadFile[] = [];
  const skippedLinks: string[] = [];
  const walk = (relative: string) => {
    const entries = readdirSync(join(dir, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!rules.ignores(`${path}/`)) walk(path);
      } else if (rules.ignores(path)) {
        continue;
      } else if (entry.isSymbolicLink()) {
        skippedLinks.push(path);
      } else if (entry.isFile()) {
        files.push({ path, content: readFileSync(join(dir, path)) });
      }
    }
  };
  let isDir = false;
  try {
    isDir = lstatSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw usageError(`${dir} is not a directory`, "give the function's directory");
  walk("");
  if (files.length === 0) throw usageError(`${dir} has no files to upload`, "check .gitignore and .isleignore");
  return { files, skippedLinks };
}
