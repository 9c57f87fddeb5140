import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { CliIo } from "../context.js";
import { readSecret } from "./input.js";

/** An io whose stdin is a fake terminal fed `typed`, one keystroke at a time. */
function terminal(typed: string[]) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, raw: [] as boolean[] });
  const withRaw = Object.assign(stdin, { setRawMode: (raw: boolean) => stdin.raw.push(raw) });
  let stderr = "";
  const io = { stdin: withRaw, stderr: { write: (s: string) => (stderr += s) }, stdout: { write: () => true }, env: {}, cwd: "/", fetch } as unknown as CliIo;
  setTimeout(() => {
    for (const key of typed) stdin.write(key);
  }, 10);
  return { io, stdin, stderr: () => stderr };
}

describe("secret input", () => {
  it("reads a hidden prompt in raw mode and echoes nothing of the value", async () => {
    const t = terminal(["s", "3", "c", "x", "\u007f", "r", "e", "t", "\r"]);
    expect(await readSecret(t.io, "value of TOKEN: ")).toBe("s3cret");
    expect(t.stderr()).toBe("value of TOKEN: \n");
    expect(t.stdin.raw).toEqual([true, false]);
  });

  it("takes stdin without a terminal, one trailing newline removed", async () => {
    const stdin = new PassThrough();
    stdin.end("line one\nline two\n");
    const io = { stdin, stderr: { write: () => true } } as unknown as CliIo;
    expect(await readSecret(io, "x")).toBe("line one\nline two");
  });

  it("refuses an empty value", async () => {
    const t = terminal(["\r"]);
    await expect(readSecret(t.io, "value: ")).rejects.toThrow(/the value is empty/);
  });
});
