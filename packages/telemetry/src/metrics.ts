import { Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The content type of the Prometheus text exposition format that `/metrics` answers with. */
export const metricsContentType = Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * The label value that stands for every value past a {@link LabelCap}'s limit.
 * The underscore keeps it from being a name: tenant and function names are
 * DNS labels, so a tenant called "other" cannot be mistaken for the fold.
 */
export const otherLabel = "_other";

/**
 * Bounds how many distinct values one label takes: the first `max` values
 * seen are kept as they are, every later one becomes `_other`. Each label
 * value is a time series in Prometheus (times every other label's values),
 * and tenant or function names are as many as users make, so without a cap
 * one busy installation could grow the scrape without limit.
 *
 * "First seen" rather than "top N": ranking needs counts per value kept for
 * every value, which is the unbounded state the cap is there to avoid, and a
 * series that changed meaning mid-life (from a name to `_other`) would corrupt
 * rates. The kept set lasts for the process's life; a restart starts afresh.
 */
export class LabelCap {
  private readonly kept = new Set<string>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 0) throw new Error(`LabelCap max must be a non-negative integer, got ${max}`);
  }

  /** `value` when it is (or can still become) one of the kept values; else `_other`. */
  fold(value: string): string {
    if (this.kept.has(value)) return value;
    if (this.kept.size >= this.max) return otherLabel;
    this.kept.add(value);
    return value;
  }

  /** How many distinct values are kept. */
  get size(): number {
    return this.kept.size;
  }
}
