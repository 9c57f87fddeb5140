import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CallTokens } from "./call-token.js";

describe("CallTokens", () => {
  const tokens = new CallTokens(randomBytes(32));
  const claims = { tenantId: "ten_1", invocationId: "inv_1", depth: 2, expiresAtMs: 10_000 };

  it("verifies what it minted, until it expires", () => {
    const token = tokens.mint(claims);
    expect(tokens.verify(token, 9_999)).toEqual(claims);
    expect(tokens.verify(token, 10_000)).toBeUndefined();
  });

  it("is accepted by another gateway with the same secrets key, not by one with another key", () => {
    const key = randomBytes(32);
    const token = new CallTokens(key).mint(claims);
    expect(new CallTokens(Buffer.from(key)).verify(token, 0)).toEqual(claims);
    expect(tokens.verify(token, 0)).toBeUndefined();
  });

  it("refuses altered, truncated and made-up tokens", () => {
    const token = tokens.mint(claims);
    const [version, body, signature] = token.split(".") as [string, string, string];
    const otherBody = Buffer.from(JSON.stringify(["ten_2", "inv_1", 2, 10_000])).toString("base64url");
    for (const bad of [
      `${version}.${otherBody}.${signature}`,
      `${version}.${body}.${signature.slice(0, -2)}`,
      `${version}.${body}`,
      `${version}.${body}.${signature}.x`,
      `ict0.${body}.${signature}`,
      "",
      undefined,
      "forged",
    ]) {
      expect(tokens.verify(bad, 0)).toBeUndefined();
    }
  });
});
