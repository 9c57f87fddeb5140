/**
 * A cache of values fetched by key: concurrent misses for one key share one
 * fetch, failures are not kept, and the least recently used entries leave
 * once the total `size` of what is kept passes the budget.
 */
export class FetchCache<V> {
  private readonly entries = new Map<string, V>();
  private readonly pending = new Map<string, Promise<V>>();
  private total = 0;

  constructor(
    private readonly fetch: (key: string) => Promise<V>,
    private readonly budget: number,
    private readonly size: (value: V) => number = () => 1,
  ) {}

  async get(key: string): Promise<V> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Re-insert to mark it most recently used (a Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    let inFlight = this.pending.get(key);
    if (!inFlight) {
      inFlight = this.load(key).finally(() => this.pending.delete(key));
      this.pending.set(key, inFlight);
    }
    return inFlight;
  }

  /** Drops `key`'s entry (a fetch under way still completes and is kept). */
  delete(key: string): void {
    const value = this.entries.get(key);
    if (value === undefined) return;
    this.entries.delete(key);
    this.total -= this.size(value);
  }

  get stats(): { entries: number; size: number } {
    return { entries: this.entries.size, size: this.total };
  }

  /** Keeps `value` under `key` as if fetched (a value that arrived another way). */
  set(key: string, value: V): void {
    this.delete(key);
    this.keep(key, value);
  }

  private async load(key: string): Promise<V> {
    const value = await this.fetch(key);
    this.keep(key, value);
    return value;
  }

  private keep(key: string, value: V): void {
    this.entries.set(key, value);
    this.total += this.size(value);
    for (const [oldest, old] of this.entries) {
      if (this.total <= this.budget || oldest === key) break;
      this.entries.delete(oldest);
      this.total -= this.size(old);
    }
  }
}
