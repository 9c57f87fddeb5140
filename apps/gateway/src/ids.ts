import { randomBytes } from "node:crypto";

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

/** A random id: prefix + 20 Crockford base32 characters (100 bits). */
function randomId(prefix: string): string {
  const bytes = randomBytes(20);
  let out = prefix;
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}

export const newRequestId = (): string => randomId("req_");
export const newInvocationId = (): string => randomId("inv_");
