import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../client.js";
import { createTestDatabase, drivers, type TestDatabase } from "../test-support/databases.js";
import { getArtifact, putArtifact } from "./artifacts.js";
import { markAgentSeen, upsertAgent } from "./agents.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe.each(drivers)("artifacts and agents (%s)", (driver) => {
  let test: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    test = await createTestDatabase(driver);
    database = await openDatabase(test.options);
  });
  afterAll(async () => {
    await database?.close();
    await test?.dispose();
  });

  it("gives back exactly the bytes stored, every byte value included", async () => {
    // 0x00 and 0xff at the edges, every value in between, and a text-looking "\x" prefix.
    const content = Buffer.concat([Buffer.from([0x00, 0xff]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from("\\x00ff")]);
    const hash = sha256(content);
    await putArtifact(database.db, hash, content);
    const back = await getArtifact(database.db, hash);
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back?.equals(content)).toBe(true);
  });

  it("accepts a plain Uint8Array and a large bundle", async () => {
    const content = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7919) & 0xff);
    const hash = sha256(content);
    await putArtifact(database.db, hash, content);
    expect((await getArtifact(database.db, hash))?.equals(content)).toBe(true);
  });

  it("stores the same content twice without error", async () => {
    const content = Buffer.from("export default {}");
    await putArtifact(database.db, sha256(content), content);
    await putArtifact(database.db, sha256(content), content);
    expect((await getArtifact(database.db, sha256(content)))?.toString()).toBe("export default {}");
  });

  it("refuses content that does not match its hash, and knows nothing of unknown hashes", async () => {
    await expect(putArtifact(database.db, sha256(Buffer.from("a")), Buffer.from("b"))).rejects.toThrow(/does not match/);
    expect(await getArtifact(database.db, sha256(Buffer.from("a")))).toBeUndefined();
  });

  it("registers an agent, refreshes it on re-registration and records heartbeats", async () => {
    const first = await upsertAgent(database.db, { id: "agt_one", address: "10.0.0.1:7000", capacity: 8, status: "ready" });
    expect(first).toMatchObject({ address: "10.0.0.1:7000", capacity: 8, status: "ready" });
    const again = await upsertAgent(database.db, { id: "agt_one", address: "10.0.0.2:7000", capacity: 4, status: "draining" });
    expect(again).toMatchObject({ address: "10.0.0.2:7000", capacity: 4, status: "draining" });
    expect(again.registeredAt.getTime()).toBe(first.registeredAt.getTime());

    expect(await markAgentSeen(database.db, "agt_one")).toBe(true);
    expect(await markAgentSeen(database.db, "agt_unknown")).toBe(false);
  });
});
