import { artifactHash } from "@isle/proto";
import { FetchCache } from "./fetch-cache.js";
import type { ArtifactSource } from "./runtimes/runtime.js";

/** Fetches artifact bytes from wherever they live (the control plane). */
export type ArtifactFetcher = (hash: string) => Promise<Buffer>;

/**
 * The agent's artifact cache: bytes by content hash, fetched once, checked
 * against their hash, kept in memory up to a byte budget.
 */
export class ArtifactCache implements ArtifactSource {
  private readonly cache: FetchCache<Buffer>;

  constructor(fetcher: ArtifactFetcher, budgetBytes: number) {
    this.cache = new FetchCache(
      async (hash) => {
        const bytes = await fetcher(hash);
        const actual = artifactHash(bytes);
        if (actual !== hash) throw new Error(`artifact ${hash} arrived with hash ${actual}`);
        return bytes;
      },
      budgetBytes,
      (bytes) => bytes.length,
    );
  }

  /** Drops the entry of `hash`: the agent no longer runs what uses it. */
  forget(hash: string): void {
    this.cache.delete(hash);
  }

  get(hash: string): Promise<Buffer> {
    return this.cache.get(hash);
  }

  get size(): { entries: number; bytes: number } {
    const { entries, size } = this.cache.stats;
    return { entries, bytes: size };
  }
}
