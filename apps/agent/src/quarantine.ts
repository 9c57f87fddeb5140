/**
 * Strikes against deployments whose functions stalled a workerd process, and
 * the quarantine that follows repeated ones. Keyed by tenant and deployment:
 * a new deploy is a new deployment id, which lifts the quarantine by itself.
 * Local to this agent.
 */
export class Quarantine {
  private readonly strikes = new Map<string, number>();

  constructor(private readonly limit = 3) {}

  /** Records a strike; true when the deployment is now quarantined. */
  strike(tenantId: string, deploymentId: string): boolean {
    const key = `${tenantId}:${deploymentId}`;
    const count = (this.strikes.get(key) ?? 0) + 1;
    this.strikes.set(key, count);
    return count >= this.limit;
  }

  /** Deployments quarantined now (for the metrics scrape; walks every strike). */
  quarantinedCount(): number {
    let count = 0;
    for (const strikes of this.strikes.values()) if (strikes >= this.limit) count++;
    return count;
  }

  isQuarantined(tenantId: string, deploymentId: string): boolean {
    return (this.strikes.get(`${tenantId}:${deploymentId}`) ?? 0) >= this.limit;
  }
}

/** The tenant and deployment of an isolate id (`tenant:deployment:hash:env`). */
export function deploymentOfIsolate(isolateId: string): { tenantId: string; deploymentId: string } | undefined {
  const [tenantId, deploymentId] = isolateId.split(":");
  return tenantId && deploymentId ? { tenantId, deploymentId } : undefined;
}
