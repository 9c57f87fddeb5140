import { Readable } from "node:stream";

/**
 * A request body that can be sent again from its first byte, as long as it
 * is no longer than `maxBytes`: the runtime retries a request whose workerd
 * process died before answering (DESIGN §5), and a body that half went to
 * the dead process must go whole to the next one.
 *
 * The source is read once, by whichever attempt is ahead; every chunk is kept
 * in order, and each attempt reads from that record by position, so an
 * abandoned attempt that was still reading can never take a chunk from the
 * next one. Past `maxBytes` the record is dropped as the current attempt
 * consumes it and `replayable` turns false: large bodies are never held whole.
 */
export class ReplayableBody {
  private readonly chunks: Array<Buffer | undefined> = [];
  private bytes = 0;
  private overflowed = false;
  private sourceDone = false;
  private pulling: Promise<void> | undefined;
  private readonly source: AsyncIterator<Buffer>;
  private attempts = 0;

  constructor(
    source: Readable,
    private readonly maxBytes: number,
  ) {
    this.source = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Whether a new attempt can still start from the first byte. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  /** A stream of the whole body for one attempt; only the newest attempt may be read. */
  attempt(): Readable {
    if (this.overflowed) throw new Error("the body is too large to send again");
    const generation = ++this.attempts;
    const next = this.reader(generation);
    return Readable.from({ [Symbol.asyncIterator]: () => ({ next }) }, { objectMode: false });
  }

  private reader(generation: number): () => Promise<IteratorResult<Buffer>> {
    let position = 0;
    return async () => {
      for (;;) {
        if (generation !== this.attempts) return { done: true, value: undefined };
        if (position < this.chunks.length) {
          const chunk = this.chunks[position];
          position++;
          // Past the limit, what this attempt has read is not needed again.
          if (this.overflowed) this.forgetBefore(position);
          if (chunk) return { done: false, value: chunk };
          continue;
        }
        if (this.sourceDone) return { done: true, value: undefined };
        await this.pull();
      }
    };
  }

  private forgotten = 0;

  private forgetBefore(position: number): void {
    for (; this.forgotten < position; this.forgotten++) this.chunks[this.forgotten] = undefined;
  }

  /** Reads one chunk of the source into the record; concurrent callers share the read. */
  private pull(): Promise<void> {
    this.pulling ??= this.source.next().then(
      ({ done, value }) => {
        this.pulling = undefined;
        if (done) {
          this.sourceDone = true;
          return;
        }
        const chunk = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
        this.bytes += chunk.length;
        // Chunks the current attempt has not read yet are still needed;
        // each is dropped as it reads on.
        if (this.bytes > this.maxBytes) this.overflowed = true;
        this.chunks.push(chunk);
      },
      (err: unknown) => {
        this.pulling = undefined;
        throw err;
      },
    );
    return this.pulling;
  }
}
