import type { SSEStreamingApi } from "hono/streaming";
import type { LogBatch, LogFeed } from "./log-feed.js";
import { entriesOf, type LogEntry, type LogFilter } from "./log-entries.js";

/** Batches a follower may have waiting; past this the oldest go and the follower is told how many. */
const maxPendingBatches = 1000;

/** A follower of one function's logs, subscribed before the recent lines were read so that none falls between. */
export interface LogFollower {
  /** Streams `recent`, then every new batch until the client goes; unsubscribes at the end. */
  stream(sse: SSEStreamingApi, recent: LogEntry[], shown: ReadonlySet<string>): Promise<void>;
  /** Unsubscribes without streaming (reading the recent lines failed). */
  cancel(): void;
}

/**
 * Subscribes to the function's batches at once; `stream` then sends `log`
 * events (one JSON entry each, on one `data:` line whatever the message
 * holds), a `: keep-alive` comment after `heartbeatMs` of silence, and a
 * `dropped` event when a slow client made it shed batches.
 */
export function followLogs(feed: LogFeed, tenantId: string, functionId: string, filter: LogFilter, heartbeatMs: number): LogFollower {
  const pending: LogBatch[] = [];
  let dropped = 0;
  let wake: (() => void) | undefined;
  const unsubscribe = feed.subscribe(tenantId, functionId, (batch) => {
    if (filter.status !== undefined && batch.status !== filter.status) return;
    if (pending.length >= maxPendingBatches) {
      pending.shift();
      dropped++;
    }
    pending.push(batch);
    wake?.();
  });
  // Resolves after `ms`, or sooner when a batch comes or the client goes.
  const quiet = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  const send = (sse: SSEStreamingApi, entry: LogEntry) => sse.writeSSE({ event: "log", data: JSON.stringify(entry) });

  return {
    cancel: unsubscribe,
    async stream(sse, recent, shown) {
      sse.onAbort(() => wake?.());
      try {
        for (const entry of recent) await send(sse, entry);
        // Batches of invocations the recent page already showed came while it was read.
        for (let i = pending.length - 1; i >= 0; i--) if (shown.has(pending[i]!.invocationId)) pending.splice(i, 1);
        while (!sse.aborted) {
          if (pending.length === 0) await quiet(heartbeatMs);
          if (sse.aborted) break;
          if (dropped > 0) {
            await sse.writeSSE({ event: "dropped", data: JSON.stringify({ invocations: dropped }) });
            dropped = 0;
          }
          const batch = pending.shift();
          if (!batch) {
            await sse.write(": keep-alive\n\n");
            continue;
          }
          for (const entry of entriesOf(batch.invocationId, batch.status, batch.lines, filter)) await send(sse, entry);
        }
      } catch {
        // The client went away mid-write.
      } finally {
        unsubscribe();
      }
    },
  };
}
