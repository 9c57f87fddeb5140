import { describe, expect, it } from "vitest";
import { parseFunctionHost } from "./host-route.js";

describe("parseFunctionHost", () => {
  it("reads function and tenant from a function host of the domain", () => {
    expect(parseFunctionHost("hello--acme.fn.example.com", "fn.example.com")).toEqual({ tenant: "acme", fn: "hello" });
    expect(parseFunctionHost("Hello--Acme.FN.example.com:8080", "fn.example.com")).toEqual({ tenant: "acme", fn: "hello" });
    expect(parseFunctionHost("hello--my-team.fn.example.com", "fn.example.com")).toEqual({ tenant: "my-team", fn: "hello" });
  });

  it("ignores other hosts and malformed labels", () => {
    for (const host of [
      "fn.example.com",
      "hello.fn.example.com",
      "--acme.fn.example.com",
      "hello--.fn.example.com",
      "hello--acme.evil.com",
      "hello--acme.fn.example.com.evil.com",
      "a.hello--acme.fn.example.com",
      undefined,
    ]) {
      expect(parseFunctionHost(host, "fn.example.com"), String(host)).toBeUndefined();
    }
    expect(parseFunctionHost("hello--acme.fn.example.com", undefined)).toBeUndefined();
  });

  it("reads a branch preview host: <branch>--<function>--<tenant>", () => {
    expect(parseFunctionHost("feature-x--hello--acme.fn.example.com", "fn.example.com")).toEqual({ tenant: "acme", fn: "hello", branch: "feature-x" });
    expect(parseFunctionHost("Feature-X--hello--acme.fn.example.com:443", "fn.example.com")).toEqual({ tenant: "acme", fn: "hello", branch: "feature-x" });
    expect(parseFunctionHost("--hello--acme.fn.example.com", "fn.example.com")).toBeUndefined();
    expect(parseFunctionHost("a.feature-x--hello--acme.fn.example.com", "fn.example.com")).toBeUndefined();
  });
});
