import { describe, expect, it } from "vitest";
import { ReceiveWindow, SendWindow, withinWindow } from "./window.js";

describe("SendWindow", () => {
  it("lets a sender use its credit, then waits for a grant", async () => {
    const window = new SendWindow(100);
    expect(await window.reserve(60)).toBe(60);
    expect(await window.reserve(60)).toBe(40);
    let got: number | undefined;
    const waiting = window.reserve(10).then((n) => (got = n));
    await Promise.resolve();
    expect(got).toBeUndefined();
    window.grant(5);
    await waiting;
    expect(got).toBe(5);
  });

  it("rejects a waiting sender when the channel fails", async () => {
    const window = new SendWindow(0);
    const waiting = window.reserve(1);
    window.fail(new Error("gone"));
    await expect(waiting).rejects.toThrow("gone");
    await expect(window.reserve(1)).rejects.toThrow("gone");
  });

  it("takes credit at once only when all of it is there", async () => {
    const window = new SendWindow(100);
    expect(window.tryTake(101)).toBe(false);
    expect(window.tryTake(100)).toBe(true);
    expect(window.tryTake(1)).toBe(false);
    expect(window.tryTake(0)).toBe(true);
    window.grant(10);
    window.fail(new Error("gone"));
    expect(window.tryTake(1)).toBe(false);
  });
});

describe("ReceiveWindow", () => {
  it("grants in batches of a quarter window, never more than consumed", () => {
    const updates: number[] = [];
    const window = new ReceiveWindow(100, (n) => updates.push(n));
    window.consumedUpTo(10);
    window.consumedUpTo(24);
    expect(updates).toEqual([]);
    window.consumedUpTo(25);
    window.consumedUpTo(20); // stale reports change nothing
    window.consumedUpTo(60);
    expect(updates).toEqual([25, 35]);
  });
});

describe("withinWindow", () => {
  it("splits a chunk to the credit available and resumes on grants", async () => {
    const window = new SendWindow(3);
    const pieces: string[] = [];
    const done = (async () => {
      for await (const piece of withinWindow(Buffer.from("abcdefgh"), window)) pieces.push(piece.toString());
    })();
    await new Promise((r) => setTimeout(r, 5));
    expect(pieces).toEqual(["abc"]);
    window.grant(10);
    await done;
    expect(pieces).toEqual(["abc", "defgh"]);
  });
});
