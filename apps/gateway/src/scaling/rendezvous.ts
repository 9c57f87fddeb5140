/**
 * Rendezvous (highest random weight) hashing: every gateway ranks the agents
 * for a function the same way, from the two names alone, so they agree on
 * its replicas without talking; an agent leaving moves only the functions it
 * held, and one joining takes only the functions it now ranks first for.
 */
export function rankByRendezvous<T>(key: string, items: readonly T[], idOf: (item: T) => string): T[] {
  const scored = items.map((item) => ({ item, score: weight(key, idOf(item)) }));
  scored.sort((a, b) => b.score - a.score || (idOf(a.item) < idOf(b.item) ? -1 : 1));
  return scored.map((s) => s.item);
}

/** A well-mixed 32-bit weight of the pair (FNV-1a, then a murmur3 finaliser so similar names spread). */
export function weight(key: string, id: string): number {
  let h = 0x811c9dc5;
  const feed = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  };
  feed(key);
  h ^= 0xff; // a separator no name contains, so ("ab","c") and ("a","bc") differ
  h = Math.imul(h, 0x01000193);
  feed(id);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
