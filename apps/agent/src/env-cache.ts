import { FetchCache } from "./fetch-cache.js";
import type { EnvSource } from "./runtimes/runtime.js";

/** Fetches a function's current env from the control plane. */
export type EnvFetcher = (tenantId: string, functionId: string) => Promise<{ version: string; vars: Record<string, string> }>;

/** An env reference: `tenantId:functionId:version`, as the gateway puts it in the request head. */
export function parseEnvRef(ref: string): { tenantId: string; functionId: string; version: string } | undefined {
  const parts = ref.split(":");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]{1,64}$/.test(p))) return undefined;
  const [tenantId, functionId, version] = parts as [string, string, string];
  return { tenantId, functionId, version };
}

/**
 * Env vars and secrets of the functions this agent runs, by reference. The
 * version in a reference changes with every change of a variable or secret,
 * so an entry never goes stale: new versions are new keys, old ones age out.
 * Held in memory only, never logged.
 */
export class EnvCache implements EnvSource {
  private readonly cache: FetchCache<Record<string, string>>;

  constructor(
    private readonly fetcher: EnvFetcher,
    maxEntries = 10_000,
  ) {
    this.cache = new FetchCache(async (ref) => {
      const parsed = parseEnvRef(ref);
      if (!parsed) throw Object.assign(new Error("malformed env reference"), { code: "not_found" });
      return (await fetcher(parsed.tenantId, parsed.functionId)).vars;
    }, maxEntries);
  }

  /** Drops the entry of `ref`: the agent no longer runs what uses it. */
  forget(ref: string): void {
    this.cache.delete(ref);
  }

  /** Fetches the function's current env, keeps it, and returns its reference. */
  async current(tenantId: string, functionId: string): Promise<string> {
    const { version, vars } = await this.fetcher(tenantId, functionId);
    const ref = `${tenantId}:${functionId}:${version}`;
    this.cache.set(ref, vars);
    return ref;
  }

  get(ref: string): Promise<Record<string, string>> {
    return this.cache.get(ref);
  }
}
