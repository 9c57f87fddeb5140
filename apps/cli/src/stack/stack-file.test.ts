import { describe, expect, it } from "vitest";
import { CliError, exitCodes } from "../http/cli-error.js";
import { filterFunctions, parseStackFile } from "./stack-file.js";

const valid = `
version: 1
tenant: acme
functions:
  api:
    path: ./services/api
    entry: main.ts
    visibility: public
    env:
      LEVEL: debug
      RETRIES: 3
    limits: { timeoutMs: 5000, concurrency: 10 }
    scale: { min: 0, max: 4 }
  worker: {}
`;

/** The message of the CliError `text` fails with. */
function failure(text: string): string {
  try {
    parseStackFile(text, "/p/isle.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(exitCodes.usage);
    return (err as CliError).message;
  }
  throw new Error("no error");
}

describe("isle.yaml", () => {
  it("reads functions with their settings, paths relative to the file", () => {
    const stack = parseStackFile(valid, "/p/isle.yaml");
    expect(stack.tenant).toBe("acme");
    expect(stack.functions).toEqual([
      {
        name: "api",
        dir: "/p/services/api",
        entry: "main.ts",
        visibility: "public",
        env: { LEVEL: "debug", RETRIES: "3" },
        limits: { timeoutMs: 5000, concurrency: 10 },
        scale: { min: 0, max: 4 },
      },
      { name: "worker", dir: "/p/worker" },
    ]);
  });

  it.each([
    ["functions:\n  api:\n    visibilty: public\n", "/p/isle.yaml:3:5: functions.api.visibilty: unknown key"],
    ["functions:\n  api:\n    visibility: open\n", '/p/isle.yaml:3:17: functions.api.visibility: must be "private" or "public"'],
    ["functions:\n  Bad_Name: {}\n", "/p/isle.yaml:2:3: functions.Bad_Name: a function name must be a DNS label"],
    ["functions:\n  api:\n    limits: { timeoutMs: fast }\n", "/p/isle.yaml:3:26: functions.api.limits.timeoutMs: must be a whole number"],
    ["functions:\n  api:\n    limits: { wallMs: 5 }\n", "functions.api.limits.wallMs: unknown key (allowed: timeoutMs"],
    ["functions:\n  api:\n    env: { 1X: a }\n", "functions.api.env.1X: an env name is an identifier"],
    ["functions:\n  api:\n    env: { A: [1] }\n", "functions.api.env.A: must be a string"],
    ["functions: {}\n", "functions: must map at least one function"],
    ["tenant: Acme!\nfunctions:\n  a: {}\n", "tenant: must be a tenant name"],
    ["functionz:\n  a: {}\n", "/p/isle.yaml:1:1: functionz: unknown key"],
    ["functions:\n  a: {}\n  a: {}\n", "/p/isle.yaml:3:3: Map keys must be unique"],
    ["functions: [a\n", "/p/isle.yaml:"],
    ["functions:\n  a:\n    schedules:\n      - { name: n, cron: 'every day' }\n", "/p/isle.yaml:4:26: functions.a.schedules.0.cron:"],
    ["functions:\n  a:\n    schedules:\n      - { name: n, cron: '@hourly', timezone: Mars/Base }\n", "functions.a.schedules.0.timezone:"],
    ["functions:\n  a:\n    schedules: { name: n }\n", "functions.a.schedules:"],
  ])("names the key of a mistake: %j", (text, message) => {
    expect(failure(text)).toContain(message);
  });

  it("reads schedules with the platform's schema, defaults left to the server", () => {
    const stack = parseStackFile("functions:\n  a:\n    schedules:\n      - { name: nightly, cron: '0 3 * * *', timezone: Europe/Berlin }\n  b:\n    schedules: []\n", "/p/isle.yaml");
    expect(stack.functions[0]!.schedules).toEqual([expect.objectContaining({ name: "nightly", cron: "0 3 * * *", timezone: "Europe/Berlin" })]);
    expect(stack.functions[1]!.schedules).toEqual([]);
  });

  it("filters by name, and refuses a name it does not have", () => {
    const stack = parseStackFile(valid, "/p/isle.yaml");
    expect(filterFunctions(stack, "worker").map((f) => f.name)).toEqual(["worker"]);
    expect(filterFunctions(stack, undefined).map((f) => f.name)).toEqual(["api", "worker"]);
    expect(() => filterFunctions(stack, "api,nope")).toThrow(/has no function "nope"/);
  });
});
