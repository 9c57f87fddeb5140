import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { verifyUnits } from "./systemd-analyze.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url))), "systemd");
const units = ["isle-gateway.service", "isle-sidecar.service", "isle-agent.service"];

describe("systemd units", () => {
  it("pass systemd-analyze verify without a warning", () => {
    expect(verifyUnits(units.map((unit) => join(dir, unit)))).toEqual({ status: 0, output: "" });
  });

  it("would show a mistake: a misspelt key in a copy is reported", () => {
    const tmp = mkdtempSync(join(tmpdir(), "isle-units-"));
    try {
      const copy = join(tmp, "isle-gateway.service");
      copyFileSync(join(dir, "isle-gateway.service"), copy);
      writeFileSync(copy, readFileSync(copy, "utf8").replace("MemoryMax=4G", "MemoryMax=4G\nMemoryMaks=4G"));
      expect(verifyUnits([copy]).output).toContain("Unknown key 'MemoryMaks'");
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("run the gateway and sidecar unprivileged and only the agent as root", () => {
    const setting = (unit: string, key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(readFileSync(join(dir, unit), "utf8"))?.[1];
    expect(setting("isle-gateway.service", "User")).toBe("isle");
    expect(setting("isle-sidecar.service", "User")).toBe("isle");
    expect(setting("isle-gateway.service", "CapabilityBoundingSet")).toBe("");
    expect(setting("isle-sidecar.service", "CapabilityBoundingSet")).toBe("");
    expect(setting("isle-agent.service", "User")).toBe("root");
    for (const unit of units) {
      expect(setting(unit, "Restart")).toBe("on-failure");
      expect(setting(unit, "NoNewPrivileges")).toBe("yes");
      expect(setting(unit, "ProtectSystem")).toBe("strict");
      expect(setting(unit, "EnvironmentFile")).toBe(`/etc/isle/${unit.slice(5, -8)}.env`);
    }
  });
});
