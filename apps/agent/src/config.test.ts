import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("agent config: the metrics listener", () => {
  it("listens on loopback port 9464 unless told otherwise", () => {
    expect(loadConfig({}).metrics).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(loadConfig({ ISLE_AGENT_METRICS_PORT: "0" }).metrics).toEqual({ host: "127.0.0.1", port: 0 });
    expect(loadConfig({ ISLE_AGENT_METRICS_PORT: "9100", ISLE_AGENT_METRICS_HOST: "10.0.0.5" }).metrics).toEqual({ host: "10.0.0.5", port: 9100 });
  });

  it("is off when the port is off, and names the key when the port is nonsense", () => {
    expect(loadConfig({ ISLE_AGENT_METRICS_PORT: "off" }).metrics).toBeUndefined();
    expect(() => loadConfig({ ISLE_AGENT_METRICS_PORT: "70000" })).toThrow(/ISLE_AGENT_METRICS_PORT/);
  });
});
