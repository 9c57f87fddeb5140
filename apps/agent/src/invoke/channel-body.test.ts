import { describe, expect, it } from "vitest";
import { ChannelBody } from "./channel-body.js";

const kb = (n: number) => Buffer.alloc(n * 1024, 7);

describe("ChannelBody", () => {
  it("acknowledges a fully sent window once the reader takes it, whatever the read pattern", async () => {
    const updates: number[] = [];
    const body = new ChannelBody(256 * 1024, (n) => updates.push(n));
    for (let i = 0; i < 4; i++) body.add(kb(64)); // the sender's whole window
    body.finish();
    let read = 0;
    for await (const chunk of body) read += (chunk as Buffer).length;
    expect(read).toBe(256 * 1024);
    expect(updates.reduce((a, b) => a + b, 0)).toBe(256 * 1024);
  });

  it("grants nothing while nobody reads", async () => {
    const updates: number[] = [];
    const body = new ChannelBody(256 * 1024, (n) => updates.push(n));
    for (let i = 0; i < 4; i++) body.add(kb(64));
    await new Promise((r) => setTimeout(r, 10));
    expect(updates).toEqual([]);
    body.destroy();
  });

  it("streams more than a window when credit keeps flowing back", async () => {
    let credit = 256 * 1024;
    const body = new ChannelBody(256 * 1024, (n) => (credit += n));
    const total = 4 * 1024 * 1024;
    let sent = 0;
    const sender = (async () => {
      while (sent < total) {
        if (credit <= 0) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const chunk = kb(64);
        credit -= chunk.length;
        sent += chunk.length;
        body.add(chunk);
      }
      body.finish();
    })();
    let read = 0;
    for await (const chunk of body) read += (chunk as Buffer).length;
    await sender;
    expect(read).toBe(total);
  });
});

describe("ChannelBody cap", () => {
  it("errors instead of handing over the chunk that passes the cap, and says so once", async () => {
    const overflows: string[] = [];
    const body = new ChannelBody(256 * 1024, () => undefined, { maxBytes: 100 * 1024, onOverflow: (e) => overflows.push(e.code) });
    let read = 0;
    const reading = (async () => {
      for await (const chunk of body) read += (chunk as Buffer).length;
    })();
    body.add(kb(64));
    await new Promise((r) => setImmediate(r));
    body.add(kb(64));
    body.add(kb(64));
    body.finish();
    await expect(reading).rejects.toMatchObject({ code: "payload_too_large" });
    expect(read).toBe(64 * 1024);
    expect(overflows).toEqual(["payload_too_large"]);
  });
});
