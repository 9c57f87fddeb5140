import { artifactHash } from "@isle/proto";
import type { ArtifactSource } from "./runtimes/runtime.js";

/** Fetches artifact bytes from wherever they live (the control plane). */
export type ArtifactFetcher = (hash: string) => Promise<Buffer>;

/**
 * The agent's artifact cache: bytes by content hash, fetched once, checked
 * against their hash, kept in memory up to a byte budget (least recently used
 * leave first). Concurrent misses for one hash share one fetch.
 */
export class ArtifactCache implements ArtifactSource {
  private readonly entries = new Map<string, Buffer>();
  private readonly pending = new Map<string, Promise<Buffer>>();
  private bytes = 0;

  constructor(
    private readonly fetcher: ArtifactFetcher,
    private readonly budgetBytes: number,
  ) {}

  async get(hash: string): Promise<Buffer> {
    const hit = this.entries.get(hash);
    if (hit) {
      // Re-insert to mark it most recently used (Map keeps insertion order).
      this.entries.delete(hash);
      this.entries.set(hash, hit);
      return hit;
    }
    let inFlight = this.pending.get(hash);
    if (!inFlight) {
      inFlight = this.fetchChecked(hash).finally(() => this.pending.delete(hash));
      this.pending.set(hash, inFlight);
    }
    return inFlight;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  private async fetchChecked(hash: string): Promise<Buffer> {
    const bytes = await this.fetcher(hash);
    const actual = artifactHash(bytes);
    if (actual !== hash) throw new Error(`artifact ${hash} arrived with hash ${actual}`);
    this.entries.set(hash, bytes);
    this.bytes += bytes.length;
    for (const [oldest, buf] of this.entries) {
      if (this.bytes <= this.budgetBytes || oldest === hash) break;
      this.entries.delete(oldest);
      this.bytes -= buf.length;
    }
    return bytes;
  }
}
