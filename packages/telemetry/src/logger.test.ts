import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe("createLogger", () => {
  it("writes JSON lines that name the service", () => {
    const { lines, destination } = capture();
    createLogger({ service: "gateway", destination }).info({ requestId: "r1" }, "hello");
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ service: "gateway", level: "info", requestId: "r1", msg: "hello" });
  });

  it("never writes credentials", () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "gateway", destination });
    log.info({ headers: { authorization: "Bearer isk_abc_secret" }, token: "op-secret" }, "request");
    expect(lines.join("")).not.toContain("isk_abc_secret");
    expect(lines.join("")).not.toContain("op-secret");
  });

  it("keeps failed queries' parameters out of logged errors", () => {
    const { lines, destination } = capture();
    const err = new Error('Failed query: insert into api_keys values ($1)\nparams: 9f86d081884c7d659a2feaa0c55ad015');
    createLogger({ service: "gateway", destination }).error({ err }, "failed");
    const line = lines.join("");
    expect(line).toContain("Failed query");
    expect(line).not.toContain("9f86d081884c7d659a2feaa0c55ad015");
  });
});
