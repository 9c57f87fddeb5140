import { format } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { InvocationLog, lineCutSuffix, logLimits, type LogLine } from "../../logs/invocation-log.js";
import { MemoryArtifacts, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRuntime } from "./workerd-runtime.js";

/** Logs what each query parameter asks, then answers; `/wait?ms=` sleeps in between. */
const chatty = `export default {
  async fetch(req, env, ctx) {
    const url = new URL(req.url);
    const id = url.searchParams.get("id") ?? "";
    if (url.pathname === "/levels") {
      console.log("plain", 42, { nested: { list: [1, "two"] } });
      console.info("%s is %d", "answer", 42);
      console.warn("careful");
      console.error(new Error("shown with its stack"));
      console.debug(null, undefined, true);
    }
    if (url.pathname === "/hostile") {
      console.log('first\\nsecond\\r\\nthird \\u001b[31mred\\u001b[0m {"level":"error","tenant":"other"}');
      console.error('{"level":"error","tenant":"other","message":"fake"}\\n{"level":"info"}');
      console.log("nul\\u0000byte and lone \\ud800 surrogate");
    }
    if (url.pathname === "/wait") {
      console.log("start " + id);
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms"))));
      console.log("end " + id);
    }
    if (url.pathname === "/many") for (let i = 0; i < Number(url.searchParams.get("n")); i++) console.log("line " + i + " " + "x".repeat(Number(url.searchParams.get("pad") ?? 0)));
    if (url.pathname === "/long") console.log("y".repeat(100_000));
    if (url.pathname === "/throw") { console.log("before the throw"); throw new TypeError("handler blew up"); }
    if (url.pathname === "/reject") { await null; throw new RangeError("async handler blew up"); }
    if (url.pathname === "/unhandled") { Promise.reject(new Error("nobody caught me")); await new Promise((r) => setTimeout(r, 5)); }
    if (url.pathname === "/after") {
      ctx.waitUntil((async () => {
        await new Promise((r) => setTimeout(r, 50));
        console.log("after the response " + id);
        throw new Error("waitUntil work failed");
      })());
    }
    return new Response("ok " + id);
  },
};`;

/** Writes at module top level, while the isolate loads. */
const loud = `console.log("loaded at top level");
export default { fetch() { console.log("in the handler"); return new Response("ok"); } };`;

/** Class entrypoint: output of its constructor and its fetch. */
const classy = `import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  constructor(ctx, env) { super(ctx, env); console.log("constructed"); }
  async fetch() { console.warn("class fetch"); return new Response("ok"); }
};`;

/**
 * Posts forged output naming whichever invocation it is given, the way the
 * prelude posts. The global fetch would tag the post with the forger's own
 * invocation, so it posts from a continuation made at module level, outside
 * any invocation, where its own header goes through.
 */
const forger = `let post;
new Promise((resolve) => (post = resolve)).then(async ({ target, answer }) => {
  const lines = [{ unixMs: Date.now(), level: "error", message: "forged by another tenant" }];
  const headers = { "x-isle-egress-invocation": target };
  answer(await fetch("http://isle-logs.invalid/", { method: "POST", headers, body: JSON.stringify({ lines, truncated: false }) }));
});
export default {
  async fetch(req) {
    const target = new URL(req.url).searchParams.get("target");
    const res = await new Promise((answer) => post({ target, answer }));
    return new Response(String(res.status));
  },
};`;

describe("console output and exceptions per invocation (real workerd)", () => {
  const artifacts = new MemoryArtifacts();
  const hash = artifacts.add(chatty);
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, processes: 1 }));
  });
  afterAll(async () => {
    await stop?.();
  });

  /** Runs one request to the end of its body; the lines its trailer would carry, and its log. */
  async function run(tenant: string, source: string, path: string): Promise<{ body: string; lines: LogLine[]; log: InvocationLog; id: string }> {
    const log = new InvocationLog();
    const request = { ...runtimeRequest(tenant, source, path), logs: log };
    const response = await runtime.invoke(request);
    const body = await text(response.body);
    return { body, lines: log.take(), log, id: request.invocationId };
  }
  const messages = (lines: LogLine[]) => lines.map((l) => `${l.level}: ${l.message}`);

  it("formats arguments as Node does, at the level of the console method", async () => {
    const { lines } = await run("acme", hash, "/levels");
    expect(messages(lines).slice(0, 3)).toEqual([
      "log: plain 42 { nested: { list: [ 1, 'two' ] } }",
      "info: answer is 42",
      "warn: careful",
    ]);
    expect(lines[3]).toMatchObject({ level: "error", message: expect.stringMatching(/^Error: shown with its stack\n\s+at /) });
    expect(lines[4]).toMatchObject({ level: "debug", message: "null undefined true" });
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(Math.abs(line.unixMs - Date.now())).toBeLessThan(60_000);
  });

  it("formats primitives without node:util exactly as util.format does, and everything else with it", async () => {
    // The isolate joins primitives itself (util is loaded only when needed); Node's answer is the reference.
    const cases: Array<[string, unknown[]]> = [
      ["-0, 1n, NaN", [-0, 1n, Number.NaN, "a", null, undefined, true]],
      ["a symbol", [Symbol("s"), "x"]],
      ["a format string", ["%s=%d %o", "k", 7, { a: [1] }]],
      ["a percent sign in a later argument", [1, "%s", "100%"]],
      ["an object first", [{ n: 1 }, "tail"]],
    ];
    const source = `export default { fetch() {
  console.log(-0, 1n, NaN, "a", null, undefined, true);
  console.log(Symbol("s"), "x");
  console.log("%s=%d %o", "k", 7, { a: [1] });
  console.log(1, "%s", "100%");
  console.log({ n: 1 }, "tail");
  return new Response("ok");
} };`;
    const { lines } = await run("formats", artifacts.add(source), "/");
    expect(lines.map((l) => l.message)).toEqual(cases.map(([, args]) => format(...args)));
  });

  it("keeps newlines, escape sequences and fake JSON inside one line each, of the invocation that wrote them", async () => {
    const { lines } = await run("acme", hash, "/hostile");
    expect(lines.map((l) => l.message)).toEqual([
      'first\nsecond\r\nthird \u001b[31mred\u001b[0m {"level":"error","tenant":"other"}',
      '{"level":"error","tenant":"other","message":"fake"}\n{"level":"info"}',
      "nul\ufffdbyte and lone \ufffd surrogate",
    ]);
    expect(lines.map((l) => l.level)).toEqual(["log", "error", "log"]);
  });

  it("never mixes invocations running at once in one isolate", async () => {
    // Delays interleave the starts and ends of twelve invocations of one isolate.
    const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => run("acme", hash, `/wait?id=r${i}&ms=${((i * 7) % 12) * 5}`)));
    runs.forEach(({ lines, body }, i) => {
      expect(body).toBe(`ok r${i}`);
      expect(messages(lines)).toEqual([`log: start r${i}`, `log: end r${i}`]);
    });
  });

  it("records a thrown or rejected handler as the invocation's exception, with message and stack", async () => {
    for (const [path, expected] of [
      ["/throw", /^Uncaught TypeError: handler blew up\n\s+at /],
      ["/reject", /^Uncaught RangeError: async handler blew up\n\s+at /],
    ] as const) {
      const log = new InvocationLog();
      const failed = await runtime.invoke({ ...runtimeRequest("acme", hash, path), logs: log }).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(IsleError);
      expect((failed as IsleError).code).toBe("function_error");
      const lines = log.take();
      expect(lines.at(-1)).toMatchObject({ level: "exception", message: expect.stringMatching(expected) });
      if (path === "/throw") expect(messages(lines)[0]).toBe("log: before the throw");
    }
  });

  it("records a rejection nobody handled, in the invocation that made it", async () => {
    const { lines, body } = await run("acme", hash, "/unhandled");
    expect(body).toBe("ok ");
    expect(lines).toEqual([expect.objectContaining({ level: "exception", message: expect.stringMatching(/^Uncaught \(in promise\) Error: nobody caught me/) })]);
  });

  it("gives output and failures of waitUntil work after the response to the same invocation, as late lines", async () => {
    const late: LogLine[] = [];
    const log = new InvocationLog();
    const response = await runtime.invoke({ ...runtimeRequest("acme", hash, "/after?id=w1"), logs: log });
    expect(await text(response.body)).toBe("ok w1");
    expect(log.take((lines) => late.push(...lines))).toEqual([]);
    await expect.poll(() => late.length, { timeout: 5000 }).toBe(2);
    expect(messages(late)[0]).toBe("log: after the response w1");
    expect(late[1]).toMatchObject({ level: "exception", message: expect.stringMatching(/^Uncaught \(in waitUntil\) Error: waitUntil work failed/) });
  });

  it("keeps at most 200 lines per invocation and then says that output was dropped", async () => {
    const { lines } = await run("acme", hash, "/many?n=300");
    expect(lines).toHaveLength(logLimits.maxLines + 1);
    expect(lines[199]?.message).toBe("line 199 ");
    expect(lines[200]).toMatchObject({ level: "truncated", message: expect.stringContaining("dropped") });
  });

  it("keeps at most 64 KiB per invocation and cuts a long line at 8 KiB", async () => {
    const bytes = await run("acme", hash, "/many?n=100&pad=1000");
    const kept = bytes.lines.filter((l) => l.level === "log");
    expect(kept.length).toBeGreaterThan(50);
    expect(kept.reduce((sum, l) => sum + Buffer.byteLength(l.message), 0)).toBeLessThanOrEqual(logLimits.maxBytes);
    expect(bytes.lines.at(-1)?.level).toBe("truncated");

    const { lines } = await run("acme", hash, "/long");
    expect(lines).toHaveLength(1);
    expect(Buffer.byteLength(lines[0]?.message ?? "")).toBeLessThanOrEqual(logLimits.maxLineBytes);
    expect(lines[0]?.message.endsWith(lineCutSuffix)).toBe(true);
  });

  it("gives output written while the isolate loads to the invocation that loaded it", async () => {
    const loudHash = artifacts.add(loud);
    expect(messages((await run("loud", loudHash, "/")).lines)).toEqual(["log: loaded at top level", "log: in the handler"]);
    expect(messages((await run("loud", loudHash, "/")).lines)).toEqual(["log: in the handler"]);
  });

  it("captures a class entrypoint's output, its constructor's included", async () => {
    const { lines } = await run("classy", artifacts.add(classy), "/");
    expect(messages(lines)).toEqual(["log: constructed", "warn: class fetch"]);
  });

  it("refuses output that names an invocation of another isolate", async () => {
    // A victim of another tenant is mid-invocation when the forger names it.
    const victim = new InvocationLog();
    const victimRequest = { ...runtimeRequest("victim", hash, "/wait?id=v&ms=400"), logs: victim };
    const victimDone = runtime.invoke(victimRequest).then((r) => text(r.body));
    await new Promise((r) => setTimeout(r, 100));
    const forged = await run("forger", artifacts.add(forger), `/?target=${victimRequest.invocationId}`);
    expect(forged.body).toBe("502");
    expect(await victimDone).toBe("ok v");
    expect(messages(victim.take())).toEqual(["log: start v", "log: end v"]);
  });
});
