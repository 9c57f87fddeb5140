import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

const tls = { ISLE_TLS_CA: "/pki/ca.crt", ISLE_TLS_CERT: "/pki/agent-node-1.crt", ISLE_TLS_KEY: "/pki/agent-node-1.key" };

describe("agent config: the metrics listener", () => {
  it("listens on loopback port 9464 unless told otherwise", () => {
    expect(loadConfig(tls).metrics).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(loadConfig({ ...tls, ISLE_AGENT_METRICS_PORT: "0" }).metrics).toEqual({ host: "127.0.0.1", port: 0 });
    expect(loadConfig({ ...tls, ISLE_AGENT_METRICS_PORT: "9100", ISLE_AGENT_METRICS_HOST: "10.0.0.5" }).metrics).toEqual({ host: "10.0.0.5", port: 9100 });
  });

  it("is off when the port is off, and names the key when the port is nonsense", () => {
    expect(loadConfig({ ...tls, ISLE_AGENT_METRICS_PORT: "off" }).metrics).toBeUndefined();
    expect(() => loadConfig({ ...tls, ISLE_AGENT_METRICS_PORT: "70000" })).toThrow(/ISLE_AGENT_METRICS_PORT/);
  });
});

describe("agent config: the control plane channel", () => {
  it("takes the agent's certificate files", () => {
    expect(loadConfig(tls).tls).toEqual({ caFile: "/pki/ca.crt", certFile: "/pki/agent-node-1.crt", keyFile: "/pki/agent-node-1.key" });
  });

  it("will not start without its certificate, naming each missing file: there is no plaintext mode", () => {
    expect(() => loadConfig({})).toThrow(/^invalid agent configuration: ISLE_TLS_CA: required.*; ISLE_TLS_CERT: required.*; ISLE_TLS_KEY: required/);
    expect(() => loadConfig({ ...tls, ISLE_TLS_KEY: "" })).toThrow(/ISLE_TLS_KEY: required: this agent's private key/);
  });
});

describe("agent config: several control planes", () => {
  it("takes one host:port or a comma-separated list of them, in order, without repeats", () => {
    expect(loadConfig(tls).controlAddresses).toEqual(["127.0.0.1:7070"]);
    expect(loadConfig({ ...tls, ISLE_CONTROL_ADDRESS: "10.0.0.1:7070, gw-2.internal:7070,[fd00::3]:7070,10.0.0.1:7070" }).controlAddresses).toEqual([
      "10.0.0.1:7070",
      "gw-2.internal:7070",
      "[fd00::3]:7070",
    ]);
  });

  it("names the key and the entry that is empty or not host:port", () => {
    expect(() => loadConfig({ ...tls, ISLE_CONTROL_ADDRESS: "10.0.0.1:7070,,10.0.0.2:7070" })).toThrow(
      "invalid agent configuration: ISLE_CONTROL_ADDRESS: entry 2 is empty: a comma-separated list of host:port",
    );
    expect(() => loadConfig({ ...tls, ISLE_CONTROL_ADDRESS: "" })).toThrow(/ISLE_CONTROL_ADDRESS: entry 1 is empty/);
    expect(() => loadConfig({ ...tls, ISLE_CONTROL_ADDRESS: "10.0.0.1:7070,gw-2" })).toThrow(/ISLE_CONTROL_ADDRESS: entry 2 \(gw-2\) is not host:port/);
  });

  it("waits 30 s for in-flight invocations when stopping, unless told otherwise", () => {
    expect(loadConfig(tls).drainTimeoutMs).toBe(30_000);
    expect(loadConfig({ ...tls, ISLE_DRAIN_TIMEOUT_MS: "0" }).drainTimeoutMs).toBe(0);
    expect(() => loadConfig({ ...tls, ISLE_DRAIN_TIMEOUT_MS: "-1" })).toThrow(/ISLE_DRAIN_TIMEOUT_MS/);
  });
});

describe("agent config: recycling workerd processes", () => {
  it("recycles at 75 % of the memory limit by default, or at 1536 MB without a limit", () => {
    expect(loadConfig(tls).workerdRecycleMb).toBe(768);
    expect(loadConfig({ ...tls, ISLE_WORKERD_MEMORY_MB: "2000" }).workerdRecycleMb).toBe(1500);
    expect(loadConfig({ ...tls, ISLE_WORKERD_MEMORY_MB: "0" }).workerdRecycleMb).toBe(1536);
  });

  it("takes a budget in MB, or off", () => {
    expect(loadConfig({ ...tls, ISLE_WORKERD_RECYCLE_MB: "512" }).workerdRecycleMb).toBe(512);
    expect(loadConfig({ ...tls, ISLE_WORKERD_RECYCLE_MB: "off" }).workerdRecycleMb).toBeUndefined();
    expect(loadConfig({ ...tls, ISLE_WORKERD_MEMORY_MB: "0", ISLE_WORKERD_RECYCLE_MB: "4096" }).workerdRecycleMb).toBe(4096);
  });

  it("names the key when the budget is nonsense or not below the memory limit", () => {
    expect(() => loadConfig({ ...tls, ISLE_WORKERD_RECYCLE_MB: "lots" })).toThrow(/ISLE_WORKERD_RECYCLE_MB/);
    expect(() => loadConfig({ ...tls, ISLE_WORKERD_RECYCLE_MB: "8" })).toThrow(/ISLE_WORKERD_RECYCLE_MB/);
    expect(() => loadConfig({ ...tls, ISLE_WORKERD_RECYCLE_MB: "1024" })).toThrow(
      "invalid agent configuration: ISLE_WORKERD_RECYCLE_MB: must be below ISLE_WORKERD_MEMORY_MB (1024)",
    );
  });
});
