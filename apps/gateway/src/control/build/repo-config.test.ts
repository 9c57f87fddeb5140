import { describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { checkRequiredEnv, readRepoConfig } from "./repo-config.js";
import { file } from "./test-helpers.js";

const code = file("index.ts", "export default {}");

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(IsleError);
    expect((err as IsleError).code).toBe("validation_failed");
    return (err as IsleError).message;
  }
  throw new Error("expected a validation error");
}

describe("readRepoConfig", () => {
  it("is absent when the sources have no isle.json or isle.toml", () => {
    expect(readRepoConfig([code, file("lib/isle.json", "{}")])).toBeUndefined();
  });

  it("reads isle.json: entry, env names and the settings it sets", () => {
    const config = readRepoConfig([
      code,
      file("isle.json", JSON.stringify({ entry: "src/app.ts", visibility: "public", env: ["API_URL"], limits: { timeoutMs: 5000 }, scale: { max: 3 } })),
    ]);
    expect(config).toEqual({
      file: "isle.json",
      entry: "src/app.ts",
      env: ["API_URL"],
      settings: { visibility: "public", limits: { timeoutMs: 5000 }, scale: { max: 3 } },
      schedules: undefined,
    });
  });

  it("reads the function's schedules, as PUT …/schedules takes them", () => {
    const toml = ["[[schedules]]", 'name = "nightly"', 'cron = "0 3 * * *"', 'path = "/jobs/nightly"'].join("\n");
    expect(readRepoConfig([code, file("isle.toml", toml)])?.schedules).toEqual([{ name: "nightly", cron: "0 3 * * *", path: "/jobs/nightly" }]);
    expect(readRepoConfig([code, file("isle.json", "{}")])?.schedules).toBeUndefined();
  });

  it("reads the same from isle.toml (a tar's ./ prefix too)", () => {
    const toml = ['entry = "main.ts"', 'runtime = "workerd"', 'env = ["TOKEN"]', "", "[limits]", "memoryMb = 128", "", "[scale]", "min = 1"].join("\n");
    expect(readRepoConfig([code, file("./isle.toml", toml)])).toEqual({
      file: "isle.toml",
      entry: "main.ts",
      env: ["TOKEN"],
      settings: { runtime: "workerd", limits: { memoryMb: 128 }, scale: { min: 1 } },
      schedules: undefined,
    });
  });

  it("names the file and the key of every mistake", () => {
    const json = (value: unknown) => () => readRepoConfig([code, file("isle.json", JSON.stringify(value))]);
    expect(messageOf(json({ limits: { timeoutMs: 10 } }))).toMatch(/^isle\.json: limits\.timeoutMs: .*100/);
    expect(messageOf(json({ scale: { max: -1 } }))).toMatch(/^isle\.json: scale\.max: /);
    expect(messageOf(json({ runtime: "python" }))).toMatch(/^isle\.json: runtime: .*workerd.*container/);
    expect(messageOf(json({ env: ["OK", "not-an-id"] }))).toMatch(/^isle\.json: env\.1: must be an identifier/);
    expect(messageOf(json({ limits: { timeout: 5 } }))).toBe("isle.json: limits: unknown key timeout");
    expect(messageOf(json({ schedule: [] }))).toBe("isle.json: the top level: unknown key schedule");
    expect(messageOf(json({ schedules: [{ name: "nightly", cron: "0 0 30 2 *" }] }))).toMatch(/^isle\.json: schedules\.0\.cron: /);
    expect(messageOf(json({ schedules: [{ name: "Bad Name", cron: "@daily" }] }))).toMatch(/^isle\.json: schedules\.0\.name: /);
    expect(messageOf(json(["entry"]))).toMatch(/^isle\.json: the top level: /);
    expect(messageOf(() => readRepoConfig([code, file("isle.toml", "[limits]\ncpuMs = 0")]))).toMatch(/^isle\.toml: limits\.cpuMs: /);
  });

  it("refuses unparsable files and two configs at once", () => {
    expect(messageOf(() => readRepoConfig([code, file("isle.json", "{ entry: ")]))).toMatch(/^isle\.json: not valid JSON: /);
    expect(messageOf(() => readRepoConfig([code, file("isle.toml", "entry = ")]))).toMatch(/^isle\.toml: not valid TOML: /);
    expect(messageOf(() => readRepoConfig([code, file("isle.json", "{}"), file("isle.toml", "")]))).toMatch(/both isle\.json and isle\.toml/);
  });
});

describe("checkRequiredEnv", () => {
  const config = readRepoConfig([code, file("isle.json", JSON.stringify({ env: ["API_URL", "TOKEN"] }))])!;

  it("passes when every declared name is an env var or a secret", () => {
    expect(() => checkRequiredEnv(config, ["API_URL", "TOKEN", "OTHER"])).not.toThrow();
  });

  it("names the missing ones", () => {
    expect(messageOf(() => checkRequiredEnv(config, ["API_URL"]))).toMatch(/^isle\.json: env: TOKEN is not set/);
    expect(messageOf(() => checkRequiredEnv(config, []))).toMatch(/^isle\.json: env: API_URL, TOKEN are not set/);
  });
});
