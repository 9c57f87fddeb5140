import { describe, expect, it } from "vitest";
import { z } from "zod";
import { logLevel, parseEnv, port } from "./index.js";

const schema = z.object({ A_PORT: port.default(80), LEVEL: logLevel });

describe("parseEnv", () => {
  it("applies defaults and coerces", () => {
    expect(parseEnv(schema, { A_PORT: "8080" }, "test")).toEqual({ A_PORT: 8080, LEVEL: "info" });
  });

  it("names every wrong key and the app", () => {
    expect(() => parseEnv(schema, { A_PORT: "70000", LEVEL: "loud" }, "sidecar")).toThrow(
      /^invalid sidecar configuration: A_PORT: .*; LEVEL: .*"trace"/,
    );
  });
});
