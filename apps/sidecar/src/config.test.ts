import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

const tls = { ISLE_TLS_CA: "/pki/ca.crt", ISLE_TLS_CERT: "/pki/sidecar.crt", ISLE_TLS_KEY: "/pki/sidecar.key" };

describe("sidecar loadConfig", () => {
  it("listens on loopback unless told otherwise, and reaches the agent by a Unix socket", () => {
    const config = loadConfig(tls);
    expect(config).toMatchObject({ host: "127.0.0.1", port: 7443, agentSocket: "./.isle/run/agent.sock" });
    expect(config.tls).toEqual({ caFile: "/pki/ca.crt", certFile: "/pki/sidecar.crt", keyFile: "/pki/sidecar.key" });
  });

  it("will not start without its certificate: there is no insecure mode", () => {
    expect(() => loadConfig({})).toThrow(/ISLE_TLS_CA/);
    expect(() => loadConfig({ ...tls, ISLE_TLS_KEY: "" })).toThrow(/ISLE_TLS_KEY/);
  });
});
