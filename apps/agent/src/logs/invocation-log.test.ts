import { describe, expect, it } from "vitest";
import { capMessage, InvocationLog, lineCutSuffix, logLimits, wellFormed, type LogLine } from "./invocation-log.js";

const line = (message: string, level = "log"): LogLine => ({ unixMs: 1_700_000_000_000, level, message });

describe("InvocationLog", () => {
  it("holds its own bounds whatever the isolate sends: 200 lines, then one marker and nothing more", () => {
    const log = new InvocationLog(() => 5);
    expect(log.full).toBe(false);
    // An isolate that ignores its bounds (its prelude is the tenant's to tamper with).
    log.add(Array.from({ length: 250 }, (_, i) => line(`l${i}`)), false);
    // Full: the agent stops even reading this invocation's posts.
    expect(log.full).toBe(true);
    log.add([line("still more")], false);
    const lines = log.take();
    expect(lines).toHaveLength(logLimits.maxLines + 1);
    expect(lines.at(-2)?.message).toBe("l199");
    expect(lines.at(-1)).toEqual({ unixMs: 5, level: "truncated", message: expect.stringContaining("dropped") });
  });

  it("counts bytes across posts, and late lines against the same bounds", () => {
    const log = new InvocationLog();
    const kib = "k".repeat(1024);
    const late: LogLine[] = [];
    log.add(Array.from({ length: 40 }, () => line(kib)), false);
    const early = log.take((lines) => late.push(...lines));
    log.add(Array.from({ length: 40 }, () => line(kib)), false);
    expect(early).toHaveLength(40);
    expect(late.filter((l) => l.level === "log")).toHaveLength(logLimits.maxBytes / 1024 - 40);
    expect(late.at(-1)?.level).toBe("truncated");
  });

  it("adds the marker when the isolate says it dropped output, once", () => {
    const log = new InvocationLog();
    log.add([line("a")], true);
    log.add([line("b")], true);
    expect(log.take().map((l) => l.level)).toEqual(["log", "truncated"]);
  });

  it("drops late lines when nobody takes them", () => {
    const log = new InvocationLog();
    log.take();
    expect(() => log.add([line("after")], false)).not.toThrow();
    expect(log.take()).toEqual([]);
  });
});

describe("capMessage and wellFormed", () => {
  it("cuts a long line at the byte bound, never inside a character, and says so", () => {
    const cut = capMessage("é".repeat(logLimits.maxLineBytes));
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(logLimits.maxLineBytes);
    expect(cut.endsWith(lineCutSuffix)).toBe(true);
    expect(cut).not.toContain("\ufffd");
    const short = "x".repeat(logLimits.maxLineBytes);
    expect(capMessage(short)).toBe(short);
  });

  it("replaces NUL and lone surrogates, keeps newlines, escapes and pairs as written", () => {
    expect(wellFormed("a\0b\ud800c\udc00d")).toBe("a\ufffdb\ufffdc\ufffdd");
    expect(wellFormed('x\ny\r\n\u001b[31m{"level":"error"} 😀')).toBe('x\ny\r\n\u001b[31m{"level":"error"} 😀');
  });
});
