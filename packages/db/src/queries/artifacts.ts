import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { artifacts } from "../schema/artifacts.js";

/**
 * Store a bundle under its SHA-256 (lower-case hex). Idempotent: the same bytes stored twice
 * are kept once. Throws if the hash does not match the content — that is a caller bug, and
 * storing it would poison every later deploy of the real content.
 */
export async function putArtifact(db: IsleDb, hash: string, content: Uint8Array): Promise<void> {
  const actual = createHash("sha256").update(content).digest("hex");
  if (actual !== hash) throw new Error(`artifact hash ${hash} does not match its content (${actual})`);
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  await db
    .insert(artifacts)
    .values({ hash, size: bytes.byteLength, content: bytes })
    .onConflictDoNothing({ target: artifacts.hash });
}

/** The bytes stored under this hash, if any. */
export async function getArtifact(db: IsleDb, hash: string): Promise<Buffer | undefined> {
  const [row] = await db
    .select({ content: artifacts.content })
    .from(artifacts)
    .where(eq(artifacts.hash, hash))
    .limit(1);
  return row?.content;
}
