import { isDnsLabel } from "@isle/db";

/**
 * Reads `<function>--<tenant>.<domain>` from a Host header. The split is at
 * the first `--`, so a function whose name contains `--` is reachable by the
 * path route only. Undefined when the host is not a function host of `domain`.
 */
export function parseFunctionHost(host: string | undefined, domain: string | undefined): { tenant: string; fn: string } | undefined {
  if (!host || !domain) return undefined;
  const name = host.toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  const suffix = `.${domain.toLowerCase().replace(/\.$/, "")}`;
  if (!name.endsWith(suffix)) return undefined;
  const label = name.slice(0, -suffix.length);
  const split = label.indexOf("--");
  if (split <= 0) return undefined;
  const fn = label.slice(0, split);
  const tenant = label.slice(split + 2);
  return isDnsLabel(fn) && isDnsLabel(tenant) ? { tenant, fn } : undefined;
}
