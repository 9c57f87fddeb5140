import { describe, expect, it } from "vitest";
import { newId } from "./ids.js";

describe("newId", () => {
  it("is the prefix and 20 lower-case base32 characters", () => {
    expect(newId("ten")).toMatch(/^ten_[a-z2-7]{20}$/);
    expect(newId("fn")).toMatch(/^fn_[a-z2-7]{20}$/);
  });

  it("does not repeat", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId("inv")));
    expect(ids.size).toBe(10_000);
  });

  it("uses the whole alphabet, not a biased corner of it", () => {
    const seen = new Set(Array.from({ length: 2_000 }, () => newId("dep").slice(4)).join(""));
    expect(seen.size).toBe(32);
  });
});
