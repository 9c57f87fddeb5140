import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CliError, exitCodes } from "../http/cli-error.js";
import { scratchDir } from "../test-support/fake-io.js";
import { configPath, readConfig, writeConfig } from "./profiles.js";

describe("profiles file", () => {
  it("lives under XDG_CONFIG_HOME, else ~/.config", () => {
    expect(configPath({ XDG_CONFIG_HOME: "/x", HOME: "/home/u" })).toBe("/x/isle/config.json");
    expect(configPath({ HOME: "/home/u" })).toBe("/home/u/.config/isle/config.json");
    expect(() => configPath({})).toThrow(CliError);
  });

  it("is written 0600 in a 0700 directory, even over a file that was readable by others", () => {
    const path = join(scratchDir(), "isle", "config.json");
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "{}", { mode: 0o644 });
    chmodSync(path, 0o644);
    const previous = process.umask(0o000);
    try {
      writeConfig(path, { current: "default", profiles: { default: { url: "http://127.0.0.1:8080", key: "isk_secret", tenant: "acme" } } });
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readConfig(path).profiles.default?.tenant).toBe("acme");
  });

  it("creates its directory 0700", () => {
    const dir = join(scratchDir(), "fresh", "isle");
    writeConfig(join(dir, "config.json"), { profiles: {} });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("reads a missing file as no profiles, and a broken one as a config error", () => {
    const dir = scratchDir();
    expect(readConfig(join(dir, "none.json"))).toEqual({ profiles: {} });
    writeFileSync(join(dir, "broken.json"), "{not json");
    expect(() => readConfig(join(dir, "broken.json"))).toThrow(expect.objectContaining({ exitCode: exitCodes.config }));
    expect(readFileSync(join(dir, "broken.json"), "utf8")).toBe("{not json");
  });
});
