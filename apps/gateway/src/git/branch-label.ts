import { createHash } from "node:crypto";

/** The branch whose pushes deploy the live version; pushes to any other make previews. */
export const defaultBranch = "main";

const maxLabel = 63;

/**
 * The DNS label a branch's preview is reached by, in `/fn/:tenant/:function@<label>/` and
 * `<label>--<function>--<tenant>.<domain>`: lower case, every run of characters other than
 * a-z and 0-9 becomes one `-` (so a label never holds `--`, which separates the host's parts),
 * no `-` at either end. A name that leaves nothing, or more than 63 characters, is cut to 56
 * and given `-` and six hex digits of its SHA-256, so long names that share a beginning stay
 * apart. Different branches can still map to one label (`Feature/X` and `feature-x`): the
 * second to push is refused, naming the first.
 */
export function branchLabel(branch: string): string {
  const label = branch
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (label.length > 0 && label.length <= maxLabel) return label;
  const digest = createHash("sha256").update(branch).digest("hex").slice(0, 6);
  const head = label.slice(0, maxLabel - 7).replace(/-+$/, "");
  return head ? `${head}-${digest}` : `branch-${digest}`;
}

/** A label as branchLabel makes them: what the preview routes accept. */
export function isBranchLabel(value: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(value) && !value.includes("--");
}
