/** What the scaler needs from a function's recent concurrency, as of one instant. */
export interface WindowSummary {
  /** Mean concurrency over the stable window; undefined when the window holds no sample. */
  stableConcurrency: number | undefined;
  /** Mean concurrency over the panic window; undefined when the window holds no sample. */
  panicConcurrency: number | undefined;
  /** When concurrency was last seen above zero; null if never (since this window was made). */
  lastActiveAtMs: number | null;
}

/** The lengths a {@link ConcurrencyWindow} averages over; a {@link ScaleSpec} has both. */
export interface WindowLengths {
  stableWindowMs: number;
  panicWindowMs: number;
}

interface Bucket {
  sum: number;
  count: number;
}

/**
 * One function's observed concurrency over time, as Knative's per-second buckets: a sample is
 * the in-flight requests summed over all its replicas at one instant, plus the requests waiting
 * in gateways' scale-from-zero buffers. Samples fall into buckets of `bucketMs` aligned to the
 * epoch; a bucket holds the mean of its samples, and a window's average is the mean of the
 * buckets it holds (a window of W ms at `now` is the ⌈W / bucketMs⌉ buckets ending with the one
 * `now` falls in). Buckets with no sample are left out rather than counted as zero: the loop
 * samples every tick, and a gap means it did not look (a new leader, a pause), not that the
 * function was idle.
 *
 * Memory is bounded whatever the sampling rate: at most one bucket per `bucketMs` of the stable
 * window is kept; older ones are dropped as samples arrive. Time is a parameter; nothing here
 * reads a clock.
 */
export class ConcurrencyWindow {
  readonly #buckets = new Map<number, Bucket>();
  readonly #stableBuckets: number;
  readonly #panicBuckets: number;
  readonly #bucketMs: number;
  #newestBucket = -Infinity;
  #lastActiveAtMs: number | null = null;

  constructor(lengths: WindowLengths, bucketMs = 1000) {
    if (!(bucketMs > 0) || !(lengths.panicWindowMs > 0) || !(lengths.stableWindowMs >= lengths.panicWindowMs)) {
      throw new RangeError(`window lengths must satisfy 0 < panic ≤ stable and bucketMs > 0 (got ${JSON.stringify({ ...lengths, bucketMs })})`);
    }
    this.#bucketMs = bucketMs;
    this.#stableBuckets = Math.ceil(lengths.stableWindowMs / bucketMs);
    this.#panicBuckets = Math.ceil(lengths.panicWindowMs / bucketMs);
  }

  /** Adds a sample. A sample older than the stable window (of the newest one) is dropped. */
  record(atMs: number, concurrency: number): void {
    if (!Number.isFinite(atMs) || !Number.isFinite(concurrency) || concurrency < 0) {
      throw new RangeError(`a sample needs a finite time and a concurrency ≥ 0 (got ${atMs}, ${concurrency})`);
    }
    if (concurrency > 0 && (this.#lastActiveAtMs === null || atMs > this.#lastActiveAtMs)) this.#lastActiveAtMs = atMs;
    const index = this.#bucketOf(atMs);
    if (index <= this.#newestBucket - this.#stableBuckets) return;
    const bucket = this.#buckets.get(index);
    if (bucket) {
      bucket.sum += concurrency;
      bucket.count += 1;
    } else {
      this.#buckets.set(index, { sum: concurrency, count: 1 });
    }
    if (index > this.#newestBucket) {
      this.#newestBucket = index;
      for (const old of this.#buckets.keys()) {
        if (old <= index - this.#stableBuckets) this.#buckets.delete(old);
      }
    }
  }

  /** Mean concurrency over the stable window ending at `nowMs`; undefined without samples. */
  stableAverage(nowMs: number): number | undefined {
    return this.#average(nowMs, this.#stableBuckets);
  }

  /** Mean concurrency over the panic window ending at `nowMs`; undefined without samples. */
  panicAverage(nowMs: number): number | undefined {
    return this.#average(nowMs, this.#panicBuckets);
  }

  /** Both averages and the last activity, the window's part of {@link ScaleObservations}. */
  summary(nowMs: number): WindowSummary {
    return {
      stableConcurrency: this.stableAverage(nowMs),
      panicConcurrency: this.panicAverage(nowMs),
      lastActiveAtMs: this.#lastActiveAtMs,
    };
  }

  /** Buckets held; for tests of the memory bound. */
  get size(): number {
    return this.#buckets.size;
  }

  #bucketOf(atMs: number): number {
    return Math.floor(atMs / this.#bucketMs);
  }

  #average(nowMs: number, buckets: number): number | undefined {
    const newest = this.#bucketOf(nowMs);
    let total = 0;
    let held = 0;
    for (let index = newest - buckets + 1; index <= newest; index++) {
      const bucket = this.#buckets.get(index);
      if (bucket) {
        total += bucket.sum / bucket.count;
        held += 1;
      }
    }
    return held === 0 ? undefined : total / held;
  }
}
