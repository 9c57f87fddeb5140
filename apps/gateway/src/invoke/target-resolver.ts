import { findActiveTarget, findDeployment, findPreviewTarget, listFunctionSecrets, type ActiveTarget, type IsleDb } from "@isle/db";
import { envVersion } from "../control/env-store.js";

/** The active deployment a request for tenant/function runs, and the reference of its env. */
export type InvokeTarget = ActiveTarget & {
  /** `tenantId:functionId:envVersion`: agents fetch the env by it; isolates are keyed by it. */
  envRef: string;
  /** The other side of a traffic split: this share of requests runs that deployment. */
  canary: { deploymentId: string; artifactHash: string; percent: number } | undefined;
};

/** Finds what a request should run; undefined when the tenant or function does not exist. */
export interface TargetResolver {
  /** The live version, or with `branch` (a preview's label) that branch's preview. */
  resolve(tenantName: string, functionName: string, branch?: string): Promise<InvokeTarget | undefined>;
  /** Forgets cached answers for one function and its previews, after a deploy or setting change. */
  invalidate(tenantName: string, functionName: string): void;
}

/**
 * Caches resolved targets for a short time: the lookup is on every invoke, and
 * a deploy on another gateway must still show within about a second
 * (DESIGN.md §8), which bounds the time to live. Misses are cached too, so a
 * flood of requests for a missing function does not reach the database each.
 */
export class CachedTargetResolver implements TargetResolver {
  private readonly cache = new Map<string, { target: InvokeTarget | undefined; expiresMs: number }>();

  constructor(
    private readonly lookup: (tenantName: string, functionName: string, branch?: string) => Promise<InvokeTarget | undefined>,
    private readonly ttlMs = 500,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async resolve(tenantName: string, functionName: string, branch?: string): Promise<InvokeTarget | undefined> {
    const key = `${tenantName}/${functionName}${branch === undefined ? "" : `@${branch}`}`;
    const hit = this.cache.get(key);
    if (hit && hit.expiresMs > this.now()) return hit.target;
    const target = await (branch === undefined ? this.lookup(tenantName, functionName) : this.lookup(tenantName, functionName, branch));
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(key, { target, expiresMs: this.now() + this.ttlMs });
    return target;
  }

  invalidate(tenantName: string, functionName: string): void {
    const key = `${tenantName}/${functionName}`;
    this.cache.delete(key);
    // Previews are few; a deploy is rare next to invokes, so a scan is cheap enough.
    for (const cached of this.cache.keys()) if (cached.startsWith(`${key}@`)) this.cache.delete(cached);
  }
}

/**
 * Looks up the active deployment and the current env version of
 * tenant/function: the target's row carries the variables; the secrets are
 * read sealed (the version hashes their ciphertext, nothing is decrypted).
 */
export async function resolveTarget(db: IsleDb, tenantName: string, functionName: string, branch?: string): Promise<InvokeTarget | undefined> {
  const target =
    branch === undefined ? await findActiveTarget(db, tenantName, functionName) : await findPreviewTarget(db, tenantName, functionName, branch);
  if (!target) return undefined;
  const secrets = await listFunctionSecrets(db, target.tenantId, target.functionId);
  const version = envVersion({ env: target.env, secrets });
  let canary: InvokeTarget["canary"];
  if (target.traffic) {
    const split = await findDeployment(db, target.tenantId, target.functionId, target.traffic.deploymentId);
    if (split?.status === "ready") canary = { deploymentId: split.id, artifactHash: split.artifactHash, percent: target.traffic.percent };
  }
  return { ...target, envRef: `${target.tenantId}:${target.functionId}:${version}`, canary };
}
