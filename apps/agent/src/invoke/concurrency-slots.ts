import type { agentV1 } from "@isle/proto";

/**
 * Invocations in flight per function on this agent, for the function's
 * `max_concurrency`. A slot is taken when a channel opens and given back
 * exactly once, when its invocation ends however it ends; functions with
 * nothing in flight take no memory here.
 */
export class ConcurrencySlots {
  private readonly inUse = new Map<string, number>();

  /**
   * Takes a slot for `key` unless `limit` of them are taken (0: no limit).
   * Returns the slot's release, which only its first call honours, or
   * undefined when the function is full.
   */
  tryAcquire(key: string, limit: number): (() => void) | undefined {
    const used = this.inUse.get(key) ?? 0;
    if (limit > 0 && used >= limit) return undefined;
    this.inUse.set(key, used + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inUse.get(key) ?? 1) - 1;
      if (left > 0) this.inUse.set(key, left);
      else this.inUse.delete(key);
    };
  }

  /** Slots taken for `key` now. */
  inFlight(key: string): number {
    return this.inUse.get(key) ?? 0;
  }
}

/**
 * What a function's concurrency is counted by: the function, not the
 * deployment, so a canary split or a deploy mid-burst does not double it.
 */
export function concurrencyKey(head: agentV1.RequestHead): string {
  return `${head.function?.tenantId ?? ""}:${head.function?.functionId ?? ""}`;
}
