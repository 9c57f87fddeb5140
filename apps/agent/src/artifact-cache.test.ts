import { describe, expect, it } from "vitest";
import { artifactHash } from "@isle/proto";
import { ArtifactCache } from "./artifact-cache.js";

function blob(text: string) {
  const bytes = Buffer.from(text);
  return { bytes, hash: artifactHash(bytes) };
}

describe("ArtifactCache", () => {
  it("fetches once and serves later gets from memory", async () => {
    const a = blob("a");
    let fetches = 0;
    const cache = new ArtifactCache(async () => (fetches++, a.bytes), 1024);
    const [x, y] = await Promise.all([cache.get(a.hash), cache.get(a.hash)]);
    await cache.get(a.hash);
    expect(x.equals(a.bytes) && y.equals(a.bytes)).toBe(true);
    expect(fetches).toBe(1);
  });

  it("refuses bytes that do not match their hash, and does not keep them", async () => {
    const a = blob("a");
    const cache = new ArtifactCache(async () => Buffer.from("tampered"), 1024);
    await expect(cache.get(a.hash)).rejects.toThrow(/arrived with hash/);
    expect(cache.size.entries).toBe(0);
  });

  it("evicts the least recently used past its budget", async () => {
    const items = ["aaaa", "bbbb", "cccc"].map(blob);
    const byHash = new Map(items.map((i) => [i.hash, i.bytes]));
    let fetches = 0;
    const cache = new ArtifactCache(async (h) => (fetches++, byHash.get(h)!), 8);
    await cache.get(items[0]!.hash);
    await cache.get(items[1]!.hash);
    await cache.get(items[0]!.hash); // a is now the most recent
    await cache.get(items[2]!.hash); // evicts b
    expect(cache.size).toEqual({ entries: 2, bytes: 8 });
    await cache.get(items[0]!.hash);
    expect(fetches).toBe(3);
    await cache.get(items[1]!.hash);
    expect(fetches).toBe(4);
  });

  it("forgets an artifact on request (its deployments left the agent), fetching it again if asked", async () => {
    const [a, b] = ["aaaa", "bbbb"].map(blob) as [ReturnType<typeof blob>, ReturnType<typeof blob>];
    const byHash = new Map([a, b].map((i) => [i.hash, i.bytes]));
    let fetches = 0;
    const cache = new ArtifactCache(async (h) => (fetches++, byHash.get(h)!), 1024);
    await cache.get(a.hash);
    await cache.get(b.hash);
    cache.forget(a.hash);
    cache.forget(a.hash);
    expect(cache.size).toEqual({ entries: 1, bytes: 4 });
    await cache.get(a.hash);
    expect(fetches).toBe(3);
  });
});
