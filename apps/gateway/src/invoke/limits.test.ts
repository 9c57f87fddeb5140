import { describe, expect, it } from "vitest";
import { agentV1 } from "@isle/proto";
import { declaredLengthOver, invocationLimits, platformLimits } from "./limits.js";

const MiB = 1024 * 1024;

describe("invocationLimits", () => {
  it("fills every field the agent reads, from the platform defaults when the function sets nothing", () => {
    const limits = invocationLimits({});
    // Decoding nothing yields every field of the message: a field added to the proto and not filled here fails.
    expect(Object.keys(limits).sort()).toEqual(Object.keys(agentV1.Limits.decode(new Uint8Array())).sort());
    expect(limits).toEqual({
      wallTimeoutMs: 30_000,
      cpuMs: 30_000,
      memoryMb: 128,
      maxRequestBytes: 100 * MiB,
      maxResponseBytes: 0,
      maxSubrequests: 50,
      maxConcurrency: 0,
    });
  });

  it("takes what the function sets over the defaults", () => {
    const limits = invocationLimits({
      timeoutMs: 5000,
      cpuMs: 50,
      memoryMb: 256,
      maxRequestBytes: 1024,
      maxResponseBytes: 2048,
      subrequests: 0,
      concurrency: 3,
    });
    expect(limits).toEqual({
      wallTimeoutMs: 5000,
      cpuMs: 50,
      memoryMb: 256,
      maxRequestBytes: 1024,
      maxResponseBytes: 2048,
      maxSubrequests: 0,
      maxConcurrency: 3,
    });
  });

  it("gives the CPU budget the function's own wall timeout when only that is set", () => {
    expect(invocationLimits({ timeoutMs: 2000 }).cpuMs).toBe(2000);
  });

  it("never sends an uncapped request body, even for a 0 stored before the cap existed", () => {
    expect(invocationLimits({ maxRequestBytes: 0 }).maxRequestBytes).toBe(platformLimits.maxRequestBytes);
  });
});

describe("declaredLengthOver", () => {
  const withLength = (value: string): Array<[string, string]> => [["content-type", "text/plain"], ["content-length", value]];

  it("is true only when the declared length exceeds the cap", () => {
    expect(declaredLengthOver(withLength("1025"), 1024)).toBe(true);
    expect(declaredLengthOver(withLength("1024"), 1024)).toBe(false);
    expect(declaredLengthOver(withLength("0"), 1024)).toBe(false);
  });

  it("leaves missing, malformed or uncapped lengths to the agent's count", () => {
    expect(declaredLengthOver([["transfer-encoding", "chunked"]], 1024)).toBe(false);
    expect(declaredLengthOver(withLength("lots"), 1024)).toBe(false);
    expect(declaredLengthOver(withLength(String(10 * MiB)), 0)).toBe(false);
  });
});
