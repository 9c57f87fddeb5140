/** A tenant's ceilings on scaling (DESIGN §6), resolved: platform defaults already filled in. */
export interface TenantScaleQuota {
  /** Replicas across all the tenant's functions. */
  maxReplicas: number;
  /**
   * Requests the tenant may have in flight at once. A replica of a function provisions its
   * `targetConcurrency`, so Σ replicas × targetConcurrency is kept within this: replicas beyond
   * it would be capacity the tenant may not use.
   */
  maxConcurrency?: number;
}

/** What one of the tenant's functions asks for: its decision's replicas. */
export interface ReplicaClaim {
  functionId: string;
  replicas: number;
  targetConcurrency: number;
}

/** What one function is granted; `capped` when it is less than its claim. */
export interface ReplicaGrant {
  functionId: string;
  replicas: number;
  capped: boolean;
}

/**
 * Fits one tenant's claims within its quota, so the tenant never runs more replicas than
 * `maxReplicas` nor provisions more than `maxConcurrency`. Claims that fit are granted whole.
 * Otherwise, deterministically (the same claims in any order get the same grants),
 replicas go one at a time to the function with the smallest share of its claim (granted ÷
 * claimed; ties to the larger claim, then the smaller functionId), skipping any whose next replica
 * would exceed `maxConcurrency`, until the quota or the claims run out. So:
 *
 * 1. Every function that claims any replica gets one before any gets a second (a share of 0 comes
 *    first): a function with demand is not starved by a busier neighbour. When the quota cannot
 *    give each of them one, those with the largest claims (then the smaller ids) get theirs.
 * 2. The rest is shared in proportion to demand: each function ends near the same fraction of its
 *    claim (8 and 2 claimed, 6 allowed → 5 and 1).
 *
 * A grant is never above its claim. Grants come back in the claims' order.
 */
export function capToTenantQuota(quota: TenantScaleQuota, claims: readonly ReplicaClaim[]): ReplicaGrant[] {
  const concurrencyCap = quota.maxConcurrency ?? Infinity;
  const totalReplicas = claims.reduce((sum, c) => sum + c.replicas, 0);
  const totalConcurrency = claims.reduce((sum, c) => sum + c.replicas * c.targetConcurrency, 0);
  if (totalReplicas <= quota.maxReplicas && totalConcurrency <= concurrencyCap) {
    return claims.map((c) => ({ functionId: c.functionId, replicas: c.replicas, capped: false }));
  }

  const granted = claims.map(() => 0);
  let replicasLeft = quota.maxReplicas;
  let concurrencyLeft = concurrencyCap;
  const fits = (i: number) => replicasLeft >= 1 && claims[i]!.targetConcurrency <= concurrencyLeft && granted[i]! < claims[i]!.replicas;
  const grant = (i: number) => {
    granted[i]! += 1;
    replicasLeft -= 1;
    concurrencyLeft -= claims[i]!.targetConcurrency;
  };

  const claiming = claims.map((_, i) => i).filter((i) => claims[i]!.replicas > 0);
  for (;;) {
    let best: number | undefined;
    for (const i of claiming) {
      if (fits(i) && (best === undefined || before(i, best))) best = i;
    }
    if (best === undefined) break;
    grant(best);
  }

  return claims.map((c, i) => ({ functionId: c.functionId, replicas: granted[i]!, capped: granted[i]! < c.replicas }));

  // i's share of its claim is smaller than j's (compared as g_i·c_j < g_j·c_i, exact in integers).
  function before(i: number, j: number): boolean {
    const left = granted[i]! * claims[j]!.replicas;
    const right = granted[j]! * claims[i]!.replicas;
    if (left !== right) return left < right;
    return claims[i]!.replicas - claims[j]!.replicas > 0 || (claims[i]!.replicas === claims[j]!.replicas && compareIds(claims[i]!.functionId, claims[j]!.functionId) < 0);
  }
}

/** Code-unit order, so the outcome does not depend on the host's locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
