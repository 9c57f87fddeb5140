import { describe, expect, it } from "vitest";
import { z } from "zod";
import { logLevel, parseEnv, port, tlsFiles, tlsFilesOf } from "./index.js";

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

describe("tlsFiles", () => {
  const schema = z.object(tlsFiles("agent"));

  it("names each missing file, and what it should hold", () => {
    expect(() => parseEnv(schema, { ISLE_TLS_CA: "/pki/ca.crt", ISLE_TLS_CERT: "" }, "agent")).toThrow(
      /^invalid agent configuration: ISLE_TLS_CERT: required: this agent's certificate \(PEM file\); ISLE_TLS_KEY: required: this agent's private key/,
    );
  });

  it("gives the three paths", () => {
    const v = parseEnv(schema, { ISLE_TLS_CA: "/ca", ISLE_TLS_CERT: "/crt", ISLE_TLS_KEY: "/key" }, "agent");
    expect(tlsFilesOf(v)).toEqual({ caFile: "/ca", certFile: "/crt", keyFile: "/key" });
  });
});
