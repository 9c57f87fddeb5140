import { describe, expect, it } from "vitest";
import { branchLabel, isBranchLabel } from "./branch-label.js";

describe("branchLabel", () => {
  it("keeps names that are already labels", () => {
    expect(branchLabel("feature-x")).toBe("feature-x");
    expect(branchLabel("v2")).toBe("v2");
  });

  it("lower-cases and turns every run of other characters into one dash, none at the ends", () => {
    expect(branchLabel("Feature/Login_Page")).toBe("feature-login-page");
    expect(branchLabel("fix--double")).toBe("fix-double");
    expect(branchLabel("-/release.2026/")).toBe("release-2026");
    expect(branchLabel("dependabot/npm_and_yarn/zod-4.1.0")).toBe("dependabot-npm-and-yarn-zod-4-1-0");
  });

  it("maps different names to one label: a collision the push refuses", () => {
    expect(branchLabel("Feature/X")).toBe(branchLabel("feature-x"));
  });

  it("cuts long names to 63 characters with a digest that keeps them apart", () => {
    const a = branchLabel(`${"long-".repeat(20)}a`);
    const b = branchLabel(`${"long-".repeat(20)}b`);
    expect(a).toHaveLength(63);
    expect(a).not.toBe(b);
    expect(a.slice(0, 50)).toBe(b.slice(0, 50));
    expect(isBranchLabel(a) && isBranchLabel(b)).toBe(true);
  });

  it("names a branch with no letters or digits by its digest", () => {
    expect(branchLabel("_/_")).toMatch(/^branch-[0-9a-f]{6}$/);
    expect(branchLabel("é")).not.toBe(branchLabel("ü"));
  });

  it("always gives a label the preview routes accept", () => {
    for (const name of ["a", "A_B", "x".repeat(300), "--", "ünïcödé/branch", "1.2.3", "a/b/c/d"]) {
      expect(isBranchLabel(branchLabel(name)), name).toBe(true);
    }
    expect(isBranchLabel("a--b")).toBe(false);
    expect(isBranchLabel("Upper")).toBe(false);
  });
});
