import { describe, expect, it } from "vitest";
import { testTarget } from "../../test-support/targets.js";
import { buildRequestHead, functionPath } from "./request-head.js";

const target = testTarget();

describe("functionPath", () => {
  it("keeps what follows the function's prefix, with the query", () => {
    expect(functionPath(new URL("http://h/fn/acme/hello"))).toBe("/");
    expect(functionPath(new URL("http://h/fn/acme/hello/"))).toBe("/");
    expect(functionPath(new URL("http://h/fn/acme/hello/a/b%2Fc?x=1"))).toBe("/a/b%2Fc?x=1");
  });
});

describe("buildRequestHead", () => {
  it("strips credentials and spoofed platform headers, then adds the platform's own", () => {
    const headers = Object.entries({
      authorization: "Bearer secret",
      "x-api-key": "isk_1_secret",
      "x-isle-invocation-id": "spoofed",
      "x-isle-client-ip": "6.6.6.6",
      connection: "keep-alive",
      "x-custom": "kept",
    });
    const head = buildRequestHead({
      target,
      invocationId: "inv_1",
      method: "POST",
      path: "/",
      host: "h",
      headers,
      clientIp: "127.0.0.1",
      hasBody: true,
      nowMs: 1000,
    });
    expect(head.headers).toEqual([
      { name: "x-custom", value: "kept" },
      { name: "x-isle-invocation-id", value: "inv_1" },
      { name: "x-isle-client-ip", value: "127.0.0.1" },
    ]);
    expect(head.deadlineUnixMs).toBe(31_000);
    expect(head.function?.tenantId).toBe("ten_1");
  });

  it("carries the function's limits, and its deadline from the function's timeout", () => {
    const head = buildRequestHead({
      target: { ...target, limits: { timeoutMs: 2000, maxRequestBytes: 1024, concurrency: 4 } },
      invocationId: "inv_1",
      method: "GET",
      path: "/",
      host: "h",
      headers: [],
      clientIp: undefined,
      hasBody: false,
      nowMs: 1000,
    });
    expect(head.limits).toMatchObject({ wallTimeoutMs: 2000, maxRequestBytes: 1024, maxConcurrency: 4, maxSubrequests: 50 });
    expect(head.deadlineUnixMs).toBe(3000);
  });
});
