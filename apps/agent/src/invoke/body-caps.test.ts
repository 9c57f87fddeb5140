import { describe, expect, it } from "vitest";
import { declaredLength, declaredResponseLength, isOverCap } from "./body-caps.js";

describe("body caps", () => {
  it("reads Content-Length whatever its case, and nothing from a malformed one", () => {
    expect(declaredLength([["Content-Length", "12"]])).toBe(12);
    expect(declaredLength([["content-length", " 7 "]])).toBe(7);
    for (const value of ["", "-1", "1e3x", "1.5", "99999999999999999999"]) expect(declaredLength([["content-length", value]]), value).toBeUndefined();
    expect(declaredLength([["content-type", "text/plain"]])).toBeUndefined();
  });

  it("treats a cap of 0 as none", () => {
    expect(isOverCap(1, 0)).toBe(false);
    expect(isOverCap(11, 10)).toBe(true);
    expect(isOverCap(10, 10)).toBe(false);
  });

  it("reads no body length from answers that have no body", () => {
    const headers: Array<[string, string]> = [["content-length", "5000"]];
    expect(declaredResponseLength("GET", 200, headers)).toBe(5000);
    expect(declaredResponseLength("HEAD", 200, headers)).toBeUndefined();
    expect(declaredResponseLength("GET", 304, headers)).toBeUndefined();
    expect(declaredResponseLength("GET", 204, headers)).toBeUndefined();
  });
});
