// What every benchmark ends with: a markdown table on stdout (pasted into bench/README.md as
// is) and the raw result in bench/results/<name>.json.
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const results = resolve(dirname(fileURLToPath(import.meta.url)), "../results");

/** A markdown table; numbers get `digits` decimals. */
export function markdownTable(headers, rows, digits = 1) {
  const cell = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : String(v));
  return [`| ${headers.join(" | ")} |`, `|${headers.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

/** Writes bench/results/<name>.json. */
export function writeResult(name, result) {
  writeFileSync(join(results, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
}
