import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ReplayableBody } from "./replayable-body.js";

async function readAll(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
}

/** A source that hands out its chunks one at a time, when asked. */
function source(chunks: string[]): Readable {
  return Readable.from(chunks.map((c) => Buffer.from(c)), { objectMode: false });
}

describe("ReplayableBody", () => {
  it("gives every attempt the whole body, however far the previous one got", async () => {
    const body = new ReplayableBody(source(["ab", "cd", "ef", "gh"]), 1024);
    const first = body.attempt();
    expect(String((await first[Symbol.asyncIterator]().next()).value)).toMatch(/^ab/);
    first.destroy();
    expect(body.replayable).toBe(true);
    expect(await readAll(body.attempt())).toBe("abcdefgh");
    expect(await readAll(body.attempt())).toBe("abcdefgh");
  });

  it("stops an older attempt once a newer one starts, so no chunk goes astray", async () => {
    const body = new ReplayableBody(source(["1", "2", "3", "4", "5"]), 1024);
    const old = body.attempt()[Symbol.asyncIterator]();
    await old.next();
    const fresh = body.attempt();
    // The old reader gets nothing more; the new one gets everything.
    expect((await old.next()).done).toBe(true);
    expect(await readAll(fresh)).toBe("12345");
  });

  it("is not replayable past its limit, and does not keep what was read", async () => {
    const chunks = Array.from({ length: 10 }, (_, i) => String(i).repeat(100));
    const body = new ReplayableBody(source(chunks), 250);
    expect(await readAll(body.attempt())).toBe(chunks.join(""));
    expect(body.replayable).toBe(false);
    expect(() => body.attempt()).toThrow(/too large/);
    expect((body as unknown as { chunks: unknown[] }).chunks.filter(Boolean)).toHaveLength(0);
  });

  it("passes a source error to the attempt reading it", async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error("client went away"));
      },
    });
    await expect(readAll(new ReplayableBody(failing, 1024).attempt())).rejects.toThrow("client went away");
  });
});
