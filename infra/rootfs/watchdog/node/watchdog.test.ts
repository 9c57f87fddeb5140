import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type RunningWatchdog, request, startWatchdog } from "../../test-support/watchdog-process.js";

const watchdog = join(import.meta.dirname, "watchdog.cjs");
const root = mkdtempSync(join(tmpdir(), "isle-nodewatchdog-"));
let running: RunningWatchdog | undefined;
let count = 0;

async function serve(index: string, file = "index.js"): Promise<RunningWatchdog> {
  const app = join(root, `app-${++count}`);
  const socket = join(root, `http-${count}.sock`);
  mkdirSync(app);
  writeFileSync(join(app, file), index);
  running = await startWatchdog(process.execPath, [watchdog], socket, { PATH: process.env.PATH ?? "/usr/bin:/bin", ISLE_SOCKET: socket, ISLE_APP: app });
  return running;
}

afterEach(async () => {
  await running?.stop();
  running = undefined;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const handler = `"use strict";
module.exports = async (event, context) => {
  switch (event.path) {
    case "/echo":
      return context.status(200).headers({ "content-type": "application/octet-stream" }).succeed(event.body);
    case "/missing":
      return context.status(404).succeed({ message: "not here" });
    case "/fail":
      return context.fail(new Error("secret detail 42"));
    case "/throw":
      throw new TypeError("thrown detail");
    case "/returned":
      return "plain value";
    case "/callback":
      setTimeout(() => context.succeed("later"), 10);
      return new Promise(() => {});
    default:
      return context.status(200).succeed({ method: event.method, path: event.path, query: event.query, body: event.body, agent: event.headers["user-agent"] });
  }
};
`;

describe("the Node.js watchdog", () => {
  it("tags each line a request writes with its invocation id, also when requests overlap", async () => {
    const { socket } = await serve(
      "module.exports = async (event) => { const me = event.query.me; console.error('a', me); await new Promise((r) => setTimeout(r, 200)); process.stderr.write('b ' + me); return me; };",
    );
    const ask = (me: string, id?: string) => request(socket, { path: `/?me=${me}`, headers: id ? { "x-isle-invocation-id": id } : {} });
    await Promise.all([ask("one", "inv-1"), ask("two", "inv-2")]);
    await ask("none");
    const logs = await running!.logsWith("\x1einv-2\x1fb two");
    for (const [me, id] of [["one", "inv-1"], ["two", "inv-2"]]) {
      expect(logs).toContain(`\x1e${id}\x1fa ${me}\n`);
      expect(logs).toContain(`\x1e${id}\x1fb ${me}\n`);
    }
    expect(logs).toMatch(/^a none$/m);
  });

  it("gives the handler method, path, query, headers and a parsed JSON body; an object answers as JSON", async () => {
    const { socket } = await serve(handler);
    const answer = await request(socket, { method: "POST", path: "/x?a=1&a=2&b=3", headers: { "content-type": "application/json", "user-agent": "probe" }, body: JSON.stringify({ n: 1 }) });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(answer.body.toString())).toEqual({ method: "POST", path: "/x", query: { a: ["1", "2"], b: "3" }, body: { n: 1 }, agent: "probe" });
  });

  it("honours context.status and a returned value", async () => {
    const { socket } = await serve(handler);
    const missing = await request(socket, { path: "/missing" });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toEqual({ message: "not here" });
    const returned = await request(socket, { path: "/returned" });
    expect([returned.status, returned.body.toString(), returned.headers["content-type"]]).toEqual([200, "plain value", "text/plain; charset=utf-8"]);
    expect((await request(socket, { path: "/callback" })).body.toString()).toBe("later");
  });

  it("answers 500 with a fixed body on context.fail or a throw, the error only in the logs", async () => {
    const fn = await serve(handler);
    for (const path of ["/fail", "/throw"]) {
      const answer = await request(fn.socket, { path });
      expect(answer.status).toBe(500);
      expect(answer.body.toString()).toBe("internal error\n");
    }
    expect(await fn.logsWith("secret detail 42")).toContain("secret detail 42");
    expect(await fn.logsWith("TypeError: thrown detail")).toContain("TypeError: thrown detail");
  });

  it("answers 400 to a JSON content type whose body is not JSON", async () => {
    const { socket } = await serve(handler);
    const answer = await request(socket, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(answer.status).toBe(400);
  });

  it("carries an 8 MiB binary body through unchanged", async () => {
    const { socket } = await serve(handler);
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    const answer = await request(socket, { method: "POST", path: "/echo", headers: { "content-type": "application/octet-stream" }, body: big });
    expect(answer.status).toBe(200);
    expect(answer.body.equals(big)).toBe(true);
  });

  it("loads an ES module handler (export default)", async () => {
    const { socket } = await serve(`export default async (event, context) => context.succeed("esm " + event.method);\n`, "index.mjs");
    expect((await request(socket, { path: "/" })).body.toString()).toBe("esm GET");
  });

  it("refuses to start without a handler function", async () => {
    await expect(serve("module.exports = 42;\n")).rejects.toThrow(/exports no handler function/);
  });
});
