import { describe, expect, it } from "vitest";
import { pickTarget } from "./commands/deployments.js";
import { parseAssignments } from "./commands/env.js";
import { parseHeaders } from "./commands/invoke.js";
import { expiryOf } from "./commands/keys.js";
import type { DeploymentInfo } from "./commands/views.js";
import { exitCodes } from "./http/cli-error.js";
import { runIsle } from "./test-support/fake-io.js";

describe("the command line", () => {
  it("exits 2 on an unknown command or option, 0 on --help", async () => {
    expect((await runIsle(["deplo"])).code).toBe(exitCodes.usage);
    expect((await runIsle(["deploy", "--bogus"])).code).toBe(exitCodes.usage);
    const help = await runIsle(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: isle");
  });

  it("exits 3 with a hint when not logged in, before any request", async () => {
    const ran = await runIsle(["functions", "ls"]);
    expect(ran.code).toBe(exitCodes.config);
    expect(ran.stderr).toContain("isle: not logged in\n  hint: run `isle login <gateway URL>`");
  });

  it("refuses a profile that does not exist", async () => {
    const ran = await runIsle(["--profile", "staging", "functions", "ls"]);
    expect(ran.code).toBe(exitCodes.config);
    expect(ran.stderr).toContain('no profile named "staging"');
  });

  it("asks which language a bare --template container means", async () => {
    const ran = await runIsle(["init", "box", "--template", "container"]);
    expect(ran.code).toBe(exitCodes.usage);
    expect(ran.stderr).toContain("use --template python, node-container or exec");
  });

  it("parses NAME=value pairs", () => {
    expect(parseAssignments(["A=1", "B=", "C=x=y"])).toEqual({ A: "1", B: "", C: "x=y" });
    expect(() => parseAssignments(["A"])).toThrow(/not NAME=value/);
    expect(() => parseAssignments(["1A=x"])).toThrow(/not NAME=value/);
  });

  it("parses headers", () => {
    expect(parseHeaders(["Content-Type: text/plain", "x-a:b:c"])).toEqual({ "content-type": "text/plain", "x-a": "b:c" });
    expect(() => parseHeaders(["nocolon"])).toThrow(/not a header/);
    expect(() => parseHeaders(["bad name: x"])).toThrow(/not a header/);
  });

  it("reads expiries as durations or times", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(expiryOf("30d", now)).toBe("2026-01-31T00:00:00.000Z");
    expect(expiryOf("90m", now)).toBe("2026-01-01T01:30:00.000Z");
    expect(expiryOf("2027-01-01T00:00:00Z", now)).toBe("2027-01-01T00:00:00.000Z");
    expect(() => expiryOf("soon", now)).toThrow(/neither a time nor a duration/);
  });

  it("rolls back to the version before the active one, or to the one named", () => {
    const d = (version: number, active = false) => ({ id: `dep_${version}`, version, active }) as DeploymentInfo;
    const list = [d(4), d(3, true), d(2), d(1)];
    expect(pickTarget(list, undefined).version).toBe(2);
    expect(pickTarget(list, "4").id).toBe("dep_4");
    expect(pickTarget(list, "v1").id).toBe("dep_1");
    expect(pickTarget(list, "dep_2").version).toBe(2);
    expect(() => pickTarget([d(1, true)], undefined)).toThrow(/no earlier version/);
    expect(() => pickTarget(list, "9")).toThrow(/no deployment "9"/);
  });
});
