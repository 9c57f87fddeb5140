import { describe, expect, it } from "vitest";
import { IsleError, errorBody, isErrorCode } from "./index.js";

describe("IsleError", () => {
  it("maps its code to the HTTP status", () => {
    expect(new IsleError("not_found", "no such function").status).toBe(404);
    expect(new IsleError("unavailable", "no agent").status).toBe(503);
    expect(new IsleError("timeout", "deadline passed").status).toBe(504);
  });

  it("renders the one error shape, details first so they cannot override the code", () => {
    const err = new IsleError("build_failed", "syntax error", { code: "spoof", location: "a.ts:1:2" });
    expect(errorBody(err, "req-1")).toEqual({
      error: { code: "build_failed", message: "syntax error", requestId: "req-1", location: "a.ts:1:2" },
    });
  });

  it("knows its closed set of codes", () => {
    expect(isErrorCode("cpu_limit")).toBe(true);
    expect(isErrorCode("toString")).toBe(false);
    expect(isErrorCode("teapot")).toBe(false);
  });
});
