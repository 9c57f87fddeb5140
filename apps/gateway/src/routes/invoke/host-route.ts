import { isDnsLabel } from "@isle/db";
import { isBranchLabel } from "../../git/branch-label.js";

/**
 * Reads `<function>--<tenant>.<domain>`, or a branch preview's
 * `<branch>--<function>--<tenant>.<domain>`, from a Host header. Branch labels
 * never contain `--` (git/branch-label.ts), so two `--` make a preview host; a
 * function or tenant whose name contains `--` is reachable by the path route
 * only. Undefined when the host is not a function host of `domain`.
 */
export function parseFunctionHost(
  host: string | undefined,
  domain: string | undefined,
): { tenant: string; fn: string; branch?: string } | undefined {
  if (!host || !domain) return undefined;
  const name = host.toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  const suffix = `.${domain.toLowerCase().replace(/\.$/, "")}`;
  if (!name.endsWith(suffix)) return undefined;
  const label = name.slice(0, -suffix.length);
  const parts = label.split("--");
  if (parts.length === 3) {
    const [branch = "", fn = "", tenant = ""] = parts;
    if (isBranchLabel(branch) && isDnsLabel(fn) && isDnsLabel(tenant)) return { tenant, fn, branch };
  }
  const split = label.indexOf("--");
  if (split <= 0) return undefined;
  const fn = label.slice(0, split);
  const tenant = label.slice(split + 2);
  return isDnsLabel(fn) && isDnsLabel(tenant) ? { tenant, fn } : undefined;
}
