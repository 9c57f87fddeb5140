import type { NewInvocation } from "@isle/db";
import type { Logger } from "@isle/telemetry";

/** Where records go: one multi-row insert per call. */
export type RecordSink = (records: NewInvocation[]) => Promise<void>;

export interface RecorderOptions {
  flushMs?: number;
  maxBatch?: number;
  /** Records held while the database is slow or down; the oldest go first past this. */
  maxBuffered?: number;
}

/**
 * Writes the record of every invocation without putting a database write on
 * the request's path: records are batched and flushed every `flushMs` (or
 * when a batch fills). A batch that fails is retried row by row, so one bad
 * row (a tenant deleted meanwhile) cannot take the others with it. If the
 * gateway dies, at most the last flush interval of sync records is lost;
 * this is recorded in docs/adr/0007-invocation-records.md.
 */
export class InvocationRecorder {
  private buffer: NewInvocation[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  dropped = 0;

  constructor(
    private readonly sink: RecordSink,
    private readonly logger: Logger,
    private readonly options: RecorderOptions = {},
  ) {}

  record(entry: NewInvocation): void {
    const max = this.options.maxBuffered ?? 50_000;
    if (this.buffer.length >= max) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= (this.options.maxBatch ?? 500)) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 250);
  }

  /** Writes what is buffered; resolves when it is written (or given up). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.write(batch);
    await this.flushing;
    this.flushing = undefined;
    if (this.buffer.length > 0) this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 250);
  }

  private async write(batch: NewInvocation[]): Promise<void> {
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
}
