import type { AppendedRecord, InvocationLogLine, LogAppend, NewInvocation } from "@isle/db";
import type { Logger } from "@isle/telemetry";
import { LogFeed } from "../logs/log-feed.js";

/** Where records go: one multi-row insert per call. */
export type RecordSink = (records: NewInvocation[]) => Promise<void>;

/** Where lines for records already written go: one statement per call; answers the records it changed. */
export type LogAppendSink = (appends: LogAppend[]) => Promise<AppendedRecord[]>;

export interface RecorderOptions {
  flushMs?: number;
  maxBatch?: number;
  /** Records (and late lines) held while the database is slow or down; the oldest go first past this. */
  maxBuffered?: number;
  /** Writes lines that arrive after their record was written; without it such lines are dropped. */
  appendLogs?: LogAppendSink;
  /** Followers of live logs get each record's lines from here; default: a feed of this process. */
  feed?: LogFeed;
}

/**
 * Writes the record of every invocation without putting a database write on
 * the request's path: records are batched and flushed every `flushMs` (or
 * when a batch fills). A batch that fails is retried row by row, so one bad
 * row (a tenant deleted meanwhile) cannot take the others with it. If the
 * gateway dies, at most the last flush interval of sync records is lost;
 * this is recorded in docs/adr/0007-invocation-records.md.
 *
 * A record carries the function's output; output that comes after it (work
 * left running with `waitUntil`) joins the record while it waits here, or is
 * appended once it is written. Every batch of lines also goes to `feed`, for
 * live followers, when the recorder gets it.
 */
export class InvocationRecorder {
  private buffer: NewInvocation[] = [];
  /** The records in `buffer`, by id, for late lines to join before they are written. */
  private readonly waiting = new Map<string, NewInvocation>();
  /** Late lines for records already written (or being written), by record id. */
  private appends = new Map<string, LogAppend>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  readonly feed: LogFeed;
  dropped = 0;

  constructor(
    private readonly sink: RecordSink,
    private readonly logger: Logger,
    private readonly options: RecorderOptions = {},
  ) {
    this.feed = options.feed ?? new LogFeed(logger);
  }

  record(entry: NewInvocation): void {
    const max = this.options.maxBuffered ?? 50_000;
    if (this.buffer.length >= max) {
      const oldest = this.buffer.shift();
      if (oldest) this.waiting.delete(oldest.id);
      this.dropped++;
    }
    this.buffer.push(entry);
    this.waiting.set(entry.id, entry);
    this.feed.publish({ tenantId: entry.tenantId, functionId: entry.functionId, invocationId: entry.id, status: entry.status, lines: entry.logs ?? [] });
    if (this.buffer.length >= (this.options.maxBatch ?? 500)) void this.flush();
    else this.schedule();
  }

  /**
   * Lines of an invocation that came after its record (its trailer): they
   * join the record of that id and tenant, wherever it is by now. Lines
   * whose record never comes are dropped by the database, which matches
   * both.
   */
  appendLogs(tenantId: string, invocationId: string, lines: InvocationLogLine[]): void {
    if (lines.length === 0) return;
    const entry = this.waiting.get(invocationId);
    if (entry && entry.tenantId === tenantId) {
      entry.logs = [...(entry.logs ?? []), ...lines];
      this.feed.publish({ tenantId, functionId: entry.functionId, invocationId, status: entry.status, lines });
      return;
    }
    if (!this.options.appendLogs) return;
    const queued = this.appends.get(invocationId);
    if (queued && queued.tenantId === tenantId) {
      queued.lines.push(...lines);
      return;
    }
    if (this.appends.size >= (this.options.maxBuffered ?? 50_000)) {
      const oldest = this.appends.keys().next();
      if (!oldest.done) this.appends.delete(oldest.value);
      this.dropped++;
    }
    this.appends.set(invocationId, { tenantId, id: invocationId, lines: [...lines] });
    this.schedule();
  }

  /** Writes what is buffered; resolves when it is written (or given up). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.buffer.length === 0 && this.appends.size === 0) return;
    const batch = this.buffer;
    const appends = [...this.appends.values()];
    this.buffer = [];
    this.waiting.clear();
    this.appends = new Map();
    // Records first: a late line may belong to a record of this very batch.
    this.flushing = this.write(batch).then(() => this.writeAppends(appends));
    await this.flushing;
    this.flushing = undefined;
    if (this.buffer.length > 0 || this.appends.size > 0) this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 250);
  }

  private async write(batch: NewInvocation[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.sink(batch);
      return;
    } catch (err) {
      if (batch.length === 1) {
        this.logger.warn({ err, invocationId: batch[0]?.id }, "invocation record not written");
        return;
      }
    }
    for (const entry of batch) await this.write([entry]);
  }

  private async writeAppends(appends: LogAppend[]): Promise<void> {
    if (appends.length === 0 || !this.options.appendLogs) return;
    let changed: AppendedRecord[];
    try {
      changed = await this.options.appendLogs(appends);
    } catch (err) {
      this.logger.warn({ err, records: appends.length }, "late invocation output not written");
      return;
    }
    const byId = new Map(appends.map((a) => [a.id, a]));
    for (const record of changed) {
      const lines = byId.get(record.id)?.lines ?? [];
      this.feed.publish({ tenantId: record.tenantId, functionId: record.functionId, invocationId: record.id, status: record.status, lines });
    }
  }
}
