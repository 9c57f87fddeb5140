import { describe, expect, it } from "vitest";
import { scaleSpecProblem } from "@isle/scaler";
import { loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("defaults to loopback and the data directory", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: "127.0.0.1", port: 8080, dataDir: "./.isle", controlHost: "127.0.0.1" });
    expect(config.databaseUrl).toBeUndefined();
  });

  it("names the key and what it allows", () => {
    expect(() => loadConfig({ ISLE_PORT: "99999" })).toThrow(/ISLE_PORT/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL: a postgres:\/\/ URL/);
    expect(() => loadConfig({ ISLE_ADMIN_TOKEN: "short" })).toThrow(/ISLE_ADMIN_TOKEN: at least 16/);
  });

  it("reads the record retention as days or hours, 0/off for ever, 7 days by default, naming the key when wrong", () => {
    const hours = (value?: string) => loadConfig(value === undefined ? {} : { ISLE_RECORD_RETENTION: value }).recordRetentionHours;
    expect([hours(), hours(""), hours("7d"), hours("12h"), hours("30"), hours("0"), hours("off"), hours("OFF")]).toEqual([168, 168, 168, 12, 720, 0, 0, 0]);
    for (const bad of ["7w", "-1d", "1.5d", "3651d", "soon"]) {
      expect(() => loadConfig({ ISLE_RECORD_RETENTION: bad }), bad).toThrow(/ISLE_RECORD_RETENTION: a duration like 7d or 12h/);
    }
  });

  it("reads the secrets key as 32 base64 bytes, naming the key when it is wrong but not echoing it", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    expect(loadConfig({ ISLE_SECRETS_KEY: key }).secretsKey).toEqual(Buffer.alloc(32, 7));
    expect(loadConfig({ ISLE_SECRETS_KEY: "" }).secretsKey).toBeUndefined();
    const short = Buffer.alloc(16, 1).toString("base64");
    expect(() => loadConfig({ ISLE_SECRETS_KEY: short })).toThrow(/ISLE_SECRETS_KEY: the base64 of exactly 32 bytes/);
    expect(() => loadConfig({ ISLE_SECRETS_KEY: short })).not.toThrow(short);
  });

  it("takes a metrics token of at least 16 characters, without echoing a short one", () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ ISLE_METRICS_TOKEN: "m".repeat(16) }).metricsToken).toBe("m".repeat(16));
    expect(() => loadConfig({ ISLE_METRICS_TOKEN: "tooshort" })).toThrow(/ISLE_METRICS_TOKEN: at least 16/);
    expect(() => loadConfig({ ISLE_METRICS_TOKEN: "tooshort" })).not.toThrow("tooshort");
  });

  it("reads the control plane's extra certificate names as a comma-separated list", () => {
    expect(loadConfig({}).controlNames).toEqual([]);
    expect(loadConfig({ ISLE_CONTROL_NAMES: "control.internal, 10.0.0.9," }).controlNames).toEqual(["control.internal", "10.0.0.9"]);
  });

  it("reads the schedules' limits: a minute between runs and a ten-minute catch-up window unless told otherwise", () => {
    expect(loadConfig({}).schedules).toEqual({ minIntervalSeconds: 60, catchUpMs: 600_000, pollMs: 1000 });
    expect(loadConfig({ ISLE_SCHEDULE_MIN_INTERVAL_S: "1", ISLE_SCHEDULE_CATCHUP_S: "30" }).schedules).toMatchObject({ minIntervalSeconds: 1, catchUpMs: 30_000 });
    expect(() => loadConfig({ ISLE_SCHEDULE_MIN_INTERVAL_S: "0" })).toThrow(/ISLE_SCHEDULE_MIN_INTERVAL_S/);
    // At least a day's catch-up could outlive the queue's 24 h idempotency window.
    expect(() => loadConfig({ ISLE_SCHEDULE_CATCHUP_S: "86400" })).toThrow(/ISLE_SCHEDULE_CATCHUP_S/);
  });

  it("gives the scaler a valid spec for every window it accepts: a tenth for the panic window, at least 1 s", () => {
    const spec = (window: string) => {
      const { targetConcurrency, scaleToZeroAfterMs, stableWindowMs, panicWindowMs, maxReplicas } = loadConfig({ ISLE_SCALE_WINDOW_S: window }).scaling;
      return { targetConcurrency, scaleToZeroAfterMs, stableWindowMs, panicWindowMs, maxReplicas };
    };
    expect(spec("60")).toMatchObject({ stableWindowMs: 60_000, panicWindowMs: 6_000 });
    expect(spec("6")).toMatchObject({ stableWindowMs: 6_000, panicWindowMs: 1_000 });
    for (const window of ["6", "9", "10", "60", "3600"]) expect(scaleSpecProblem(spec(window)), window).toBeUndefined();
    expect(() => loadConfig({ ISLE_SCALE_WINDOW_S: "5" })).toThrow(/ISLE_SCALE_WINDOW_S/);
  });

  it("treats an empty DATABASE_URL as unset", () => {
    expect(loadConfig({ DATABASE_URL: "" }).databaseUrl).toBeUndefined();
  });
});
