import { describe, expect, it } from "vitest";
import { serially } from "./dev.js";

describe("redeploys on save", () => {
  it("never overlap, and saves during a deploy cause exactly one more", async () => {
    const runs: string[] = [];
    let active = 0;
    let release: (() => void) | undefined;
    const deploy = serially(async () => {
      active += 1;
      expect(active).toBe(1);
      runs.push("start");
      await new Promise<void>((r) => (release = r));
      active -= 1;
    });
    const first = deploy();
    const second = deploy();
    const third = deploy();
    expect(second).toBe(third);
    release!();
    await first;
    await new Promise((r) => setTimeout(r, 0));
    expect(runs).toEqual(["start", "start"]);
    release!();
    await second;
    expect(runs).toHaveLength(2);
    const fourth = deploy();
    release!();
    await fourth;
    expect(runs).toHaveLength(3);
  });
});
