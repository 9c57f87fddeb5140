import type { InvocationLogLine } from "@isle/db";
import type { Logger } from "@isle/telemetry";

/** Lines of one invocation, as the recorder gets them (all of them at its end, or a later batch). */
export interface LogBatch {
  tenantId: string;
  functionId: string;
  invocationId: string;
  /** The invocation's record status (`succeeded`, `failed`). */
  status: string;
  lines: InvocationLogLine[];
}

export type LogListener = (batch: LogBatch) => void;

/**
 * Hands each invocation's lines to the followers of that tenant's function
 * (`GET …/logs?follow=1`), on this gateway, as the recorder gets them. A
 * follower names the tenant and function it was authorised for and only
 * ever gets batches recorded under exactly those ids.
 *
 * In process; with several gateways, LogRelay carries each gateway's batches
 * to the others' followers (ADR 0017).
 */
export class LogFeed {
  private readonly listeners = new Map<string, Set<LogListener>>();
  private readonly local = new Set<LogListener>();
  /** How long a follower's stream may be silent before it gets a keep-alive comment. */
  readonly heartbeatMs: number;

  constructor(
    private readonly logger?: Logger,
    options: { heartbeatMs?: number } = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
  }

  /** Calls `listener` with every batch of the function's lines from now on, until the returned function is called. */
  subscribe(tenantId: string, functionId: string, listener: LogListener): () => void {
    const key = feedKey(tenantId, functionId);
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(key) === set) this.listeners.delete(key);
    };
  }

  /** Calls `listener` with every batch this gateway records (not those relayed from others): the relay's outlet. */
  onLocal(listener: LogListener): () => void {
    this.local.add(listener);
    return () => void this.local.delete(listener);
  }

  /** A batch this gateway recorded: to its followers here, and to `onLocal` listeners. */
  publish(batch: LogBatch): void {
    if (batch.lines.length === 0) return;
    for (const listener of this.local) listener(batch);
    this.deliver(batch);
  }

  /** True when someone here follows the function (a relayed batch for nobody is not worth reading). */
  hasFollowers(tenantId: string, functionId: string): boolean {
    return this.listeners.has(feedKey(tenantId, functionId));
  }

  /** A batch to this gateway's followers only (one relayed from another gateway). */
  deliver(batch: LogBatch): void {
    if (batch.lines.length === 0) return;
    const set = this.listeners.get(feedKey(batch.tenantId, batch.functionId));
    if (!set) return;
    for (const listener of set) {
      try {
        listener(batch);
      } catch (err) {
        // One broken follower must not cost the recorder or the others.
        this.logger?.warn({ err, invocationId: batch.invocationId }, "log follower failed");
      }
    }
  }

  /** Followers connected now, across functions. */
  get followers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}

function feedKey(tenantId: string, functionId: string): string {
  return JSON.stringify([tenantId, functionId]);
}
