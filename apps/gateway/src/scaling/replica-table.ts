import { activateFunction, replicaCountsChangedSince, type IsleDb, type ReplicaCount } from "@isle/db";
import type { Logger } from "@isle/telemetry";

/** How far back each poll looks again, for writes that committed after the moment they stamped. */
const lateCommitMarginMs = 2000;

/**
 * This gateway's copy of every function's replica count (the scaler's
 * decisions, in the database), kept fresh by polling for changes: a change
 * shows on every gateway within one poll interval (500 ms by default), as
 * DESIGN.md §8 asks of deploys and revocations. A function it has never
 * seen has no replica: it is scaled to zero.
 */
export class ReplicaTable {
  private readonly counts = new Map<string, ReplicaCount>();
  private readonly activations = new Map<string, Promise<number>>();
  private cursor: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly db: IsleDb,
    private readonly logger: Logger,
    private readonly pollMs = 500,
  ) {}

  /** Reads every count once, then keeps polling. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  replicas(functionId: string): number {
    return this.counts.get(functionId)?.replicas ?? 0;
  }

  /** Every function this gateway knows to have at least one replica. */
  scaled(): ReplicaCount[] {
    return [...this.counts.values()].filter((count) => count.replicas > 0);
  }

  /** Applies a count this gateway itself wrote (the scaler leader), without waiting for the next poll. */
  apply(count: ReplicaCount): void {
    this.counts.set(count.functionId, count);
  }

  /**
   * Gives a function at zero its first replica (scale from zero); concurrent
   * callers for one function share one write. Resolves to the count in force.
   */
  activate(tenantId: string, functionId: string): Promise<number> {
    const running = this.activations.get(functionId);
    if (running) return running;
    const activation = activateFunction(this.db, tenantId, functionId)
      .then((replicas) => {
        this.apply({ tenantId, functionId, replicas });
        return replicas;
      })
      .finally(() => this.activations.delete(functionId));
    this.activations.set(functionId, activation);
    return activation;
  }

  private poll(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = replicaCountsChangedSince(this.db, this.cursor, lateCommitMarginMs)
      .then(({ counts, readAt }) => {
        for (const count of counts) this.apply(count);
        this.cursor = readAt;
      })
      .catch((err: unknown) => this.logger.warn({ err }, "replica counts not read; keeping the last ones"))
      .finally(() => (this.polling = undefined));
    return this.polling;
  }
}
