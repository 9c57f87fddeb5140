import { describe, expect, it } from "vitest";
import { newInvocationId, newRequestId } from "./ids.js";

describe("ids", () => {
  it("are prefixed base32 and do not repeat", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(newInvocationId());
    expect(seen.size).toBe(1000);
    expect([...seen].every((id) => /^inv_[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(newRequestId()).toMatch(/^req_/);
  });
});
