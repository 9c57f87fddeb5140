import type { LogSink } from "../logs/invocation-log.js";

/** What the egress needs to know about one invocation of a function. */
export interface InvocationEgress {
  /** The isolate the invocation runs in; outbound requests of other isolates never count against it. */
  isolateId: string;
  tenantName: string;
  /** Outbound requests (fetch, connect, function calls) allowed; 0 means none. */
  maxSubrequests: number;
  /** Gateway-signed proof that a call comes from this invocation; empty when the gateway sent none. */
  callToken: string;
  traceparent: string;
  tracestate: string;
}

interface Entry extends InvocationEgress {
  subrequests: number;
  /** Where the invocation's console output goes; absent when nobody collects it. */
  logs: LogSink | undefined;
}

/**
 * How long an invocation's egress context outlives its response: work a
 * function left running with `ctx.waitUntil` (logging, cache fills) may still
 * send requests, and they still count against that invocation; its output
 * still goes to that invocation's log.
 */
export const afterResponseGraceMs = 30_000;

/**
 * The invocations in flight on this agent, by id, as the egress sees them:
 * whom an outbound request (or a line of output) belongs to and how many
 * requests it has made.
 */
export class InvocationRegistry {
  private readonly live = new Map<string, Entry>();
  /** Newest first per isolate, for outbound requests that carry no invocation (connect()). */
  private readonly byIsolate = new Map<string, Set<string>>();
  /**
   * Ended invocations in the order they ended, each with the time its grace
   * runs out; `endedHead` is the first not yet forgotten. One timer sweeps
   * them (at most about once a second) instead of a timer per invocation:
   * at a thousand requests a second that was 30 000 live timers.
   */
  private readonly ended: Array<{ invocationId: string; isolateId: string; dueMs: number }> = [];
  private endedHead = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly graceMs = afterResponseGraceMs) {}

  /** Registers an invocation; call the returned function when its response has ended. */
  begin(invocationId: string, egress: InvocationEgress, logs?: LogSink): () => void {
    this.live.set(invocationId, { ...egress, subrequests: 0, logs });
    let ids = this.byIsolate.get(egress.isolateId);
    if (!ids) this.byIsolate.set(egress.isolateId, (ids = new Set()));
    ids.add(invocationId);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.ended.push({ invocationId, isolateId: egress.isolateId, dueMs: Date.now() + this.graceMs });
      if (!this.sweeper) this.scheduleSweep();
    };
  }

  /**
   * The invocation an outbound request of `isolateId` counts against: the one
   * it names, if that one runs in this isolate; otherwise the isolate's newest.
   * Undefined when the isolate has none, so it cannot send anything.
   */
  attribute(isolateId: string, invocationId: string | null): (InvocationEgress & { subrequests: number }) | undefined {
    const named = invocationId ? this.live.get(invocationId) : undefined;
    if (named && named.isolateId === isolateId) return named;
    const ids = this.byIsolate.get(isolateId);
    if (!ids) return undefined;
    let newest: string | undefined;
    for (const id of ids) newest = id;
    return newest === undefined ? undefined : this.live.get(newest);
  }

  /**
   * The log of `invocationId` when it runs (or ran, within the grace) in
   * `isolateId`. Never another's: output names its invocation exactly, and
   * an isolate can only write to its own invocations.
   */
  sinkFor(isolateId: string, invocationId: string): LogSink | undefined {
    const entry = this.live.get(invocationId);
    return entry?.isolateId === isolateId ? entry.logs : undefined;
  }

  /** Counts one outbound request; false when that would exceed the invocation's limit. */
  count(entry: { subrequests: number; maxSubrequests: number }): boolean {
    if (entry.subrequests >= entry.maxSubrequests) return false;
    entry.subrequests += 1;
    return true;
  }

  get size(): number {
    return this.live.size;
  }

  /** Sweeps when the oldest ended invocation's grace runs out, but not more often than every second. */
  private scheduleSweep(): void {
    const oldest = this.ended[this.endedHead];
    if (!oldest) return;
    const delayMs = Math.max(oldest.dueMs - Date.now(), Math.min(this.graceMs, 1000));
    this.sweeper = setTimeout(() => this.sweep(), delayMs);
    this.sweeper.unref();
  }

  private sweep(): void {
    this.sweeper = undefined;
    const now = Date.now();
    for (let next = this.ended[this.endedHead]; next && next.dueMs <= now; next = this.ended[this.endedHead]) {
      this.forget(next.invocationId, next.isolateId);
      this.endedHead++;
    }
    // Drop the swept prefix once it is most of the array, so the array stays bounded.
    if (this.endedHead > 1024 && this.endedHead * 2 > this.ended.length) {
      this.ended.splice(0, this.endedHead);
      this.endedHead = 0;
    }
    this.scheduleSweep();
  }

  private forget(invocationId: string, isolateId: string): void {
    this.live.delete(invocationId);
    const ids = this.byIsolate.get(isolateId);
    ids?.delete(invocationId);
    if (ids?.size === 0) this.byIsolate.delete(isolateId);
  }
}
