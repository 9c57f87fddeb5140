import { randomBytes } from "node:crypto";

/** The kinds of row the app names itself; the prefix makes an id self-describing in logs and URLs. */
export type IdPrefix = "ten" | "key" | "fn" | "dep" | "inv" | "agt" | "sec" | "sch" | "pre";

// RFC 4648 base32, lower-cased: no ambiguous case, safe in URLs, DNS labels and file names.
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const ID_CHARS = 20;

/**
 * A new random id such as `ten_3k2vq7x0...`: the prefix, an underscore and 20 base32
 * characters (100 bits from the CSPRNG, so collisions are not a practical concern).
 */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(ID_CHARS);
  let out = `${prefix}_`;
  // 256 is a multiple of 32, so taking the low five bits of each byte is unbiased.
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return out;
}
