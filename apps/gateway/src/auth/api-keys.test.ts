import { describe, expect, it } from "vitest";
import { ApiKeyVerifier, hasScope, mintApiKey, presentedCredential, type StoredKey } from "./api-keys.js";

const id = "key_abcdefghijklmnopqrst";

function store(over: Partial<StoredKey> = {}) {
  const { key, secretHash } = mintApiKey(id);
  const row: StoredKey = { id, tenantId: "ten_1", secretHash, scopes: ["invoke"], functionName: null, expiresAt: null, revokedAt: null, ...over };
  return { key, row };
}

describe("API keys", () => {
  it("mints keys whose secret is never stored", () => {
    const { key, secretHash } = mintApiKey(id);
    expect(key).toMatch(/^isk_key_[a-z2-7]{20}_[0-9a-f]{48}$/);
    expect(key).not.toContain(secretHash);
  });

  it("verifies the right key, and refuses every wrong one the same way", async () => {
    const { key, row } = store();
    const verifier = new ApiKeyVerifier(async (k) => (k === id ? row : undefined));
    expect(await verifier.verify(key)).toEqual({ id, tenantId: "ten_1", scopes: ["invoke"], functionName: null });
    const wrongSecret = key.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    for (const bad of [undefined, "", "isk_nope", wrongSecret, key.replace(id, "key_bbbbbbbbbbbbbbbbbbbb"), `${key}x`]) {
      expect(await verifier.verify(bad)).toBeUndefined();
    }
  });

  it("refuses expired and revoked keys", async () => {
    const past = new Date(Date.now() - 1000);
    for (const over of [{ expiresAt: past }, { revokedAt: past }]) {
      const { key, row } = store(over);
      expect(await new ApiKeyVerifier(async () => row).verify(key)).toBeUndefined();
    }
  });

  it("notices a revocation within its time to live", async () => {
    let now = 0;
    const { key, row } = store();
    let current: StoredKey = row;
    const verifier = new ApiKeyVerifier(async () => current, 500, () => now);
    expect(await verifier.verify(key)).toBeDefined();
    current = { ...row, revokedAt: new Date(0) };
    now = 499;
    expect(await verifier.verify(key)).toBeDefined();
    now = 500;
    expect(await verifier.verify(key)).toBeUndefined();
  });

  it("reads Bearer or x-api-key", () => {
    expect(presentedCredential("Bearer abc", undefined)).toBe("abc");
    expect(presentedCredential(undefined, " abc ")).toBe("abc");
    expect(presentedCredential("Basic abc", undefined)).toBeUndefined();
  });

  it("lets admin stand for every scope", () => {
    const key = { id, tenantId: "t", scopes: ["admin"], functionName: null };
    expect(hasScope(key, "deploy")).toBe(true);
    expect(hasScope({ ...key, scopes: ["read"] }, "deploy")).toBe(false);
  });
});
