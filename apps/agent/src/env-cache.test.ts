import { describe, expect, it } from "vitest";
import { EnvCache, parseEnvRef } from "./env-cache.js";

describe("EnvCache", () => {
  it("fetches a function's env once per reference", async () => {
    const calls: string[] = [];
    const cache = new EnvCache(async (tenantId, functionId) => {
      calls.push(`${tenantId}/${functionId}`);
      return { version: "v1", vars: { GREETING: "hi" } };
    });
    expect(await cache.get("ten_1:fn_1:v1")).toEqual({ GREETING: "hi" });
    await cache.get("ten_1:fn_1:v1");
    expect(calls).toEqual(["ten_1/fn_1"]);
  });

  it("refuses malformed references as missing", async () => {
    const cache = new EnvCache(async () => ({ version: "v", vars: {} }));
    await expect(cache.get("../../etc")).rejects.toMatchObject({ code: "not_found" });
    expect(parseEnvRef("a:b")).toBeUndefined();
    expect(parseEnvRef("ten_1:fn_1:abc")).toEqual({ tenantId: "ten_1", functionId: "fn_1", version: "abc" });
  });

  it("names the current env by its version and keeps it, so loading that reference fetches nothing more", async () => {
    let fetches = 0;
    const cache = new EnvCache(async () => (fetches++, { version: "v7", vars: { GREETING: "hi" } }));
    expect(await cache.current("ten_1", "fn_1")).toBe("ten_1:fn_1:v7");
    expect(await cache.get("ten_1:fn_1:v7")).toEqual({ GREETING: "hi" });
    expect(fetches).toBe(1);
  });
});
