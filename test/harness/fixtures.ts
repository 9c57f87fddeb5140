import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const fixturesDir = resolve(import.meta.dirname, "../fixtures/functions");

/** The files of a fixture function under test/fixtures/functions/<name>, path → source. */
export function fixture(name: string): Record<string, string> {
  const dir = join(fixturesDir, name);
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return files;
}
