import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type RunningWatchdog, request, startWatchdog } from "../../test-support/watchdog-process.js";

// The watchdog runs on the host's python3 here (the container's is Debian's 3.11); a host without
// python3 fails these tests rather than skipping them.
const watchdog = join(import.meta.dirname, "isle_watchdog.py");
const root = mkdtempSync(join(tmpdir(), "isle-pywatchdog-"));
let running: RunningWatchdog | undefined;
let count = 0;

async function serve(files: Record<string, string>, env: Record<string, string> = {}): Promise<RunningWatchdog> {
  const app = join(root, `app-${++count}`);
  const socket = join(root, `http-${count}.sock`);
  mkdirSync(app);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(app, name), text, { mode: 0o755 });
  running = await startWatchdog("python3", ["-u", watchdog], socket, { PATH: process.env.PATH ?? "/usr/bin:/bin", ISLE_SOCKET: socket, ISLE_APP: app, ...env });
  return running;
}

/** A killed process can stay a zombie until whoever adopted it reaps it: that is dead enough. */
function aliveOrZombie(pid: number): "alive" | "zombie" | "gone" {
  if (!existsSync(`/proc/${pid}/stat`)) return "gone";
  return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ? "zombie" : "alive";
}

afterEach(async () => {
  await running?.stop();
  running = undefined;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const echoHandler = `
import json
def handle(request):
    if request.path == "/boom":
        raise ValueError("secret detail 42")
    if request.path == "/raw":
        return request.body
    return {
        "status": 201,
        "headers": {"x-seen-method": request.method},
        "body": {"path": request.path, "query": request.query, "args": request.args,
                 "agent": request.headers.get("user-agent"), "length": len(request.body)},
    }
`;

describe("the Python watchdog, handler mode", () => {
  it("maps method, path, query, headers and body to the request and the dict back to the response", async () => {
    const { socket } = await serve({ "handler.py": echoHandler });
    const answer = await request(socket, { method: "POST", path: "/items/7?a=1&a=2&b=", headers: { "user-agent": "probe" }, body: "hello" });
    expect(answer.status).toBe(201);
    expect(answer.headers["x-seen-method"]).toBe("POST");
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(answer.body.toString())).toEqual({ path: "/items/7", query: "a=1&a=2&b=", args: { a: ["1", "2"], b: [""] }, agent: "probe", length: 5 });
  });

  it("tags each line a request writes with its invocation id, also when requests overlap; untagged without one", async () => {
    const { socket } = await serve({
      "handler.py": "import sys, time\ndef handle(request):\n    me = request.args['me'][0]\n    print('a', me, file=sys.stderr)\n    time.sleep(0.2)\n    sys.stderr.write('b ' + me)\n    return me\n",
    });
    const ask = (me: string, id?: string) => request(socket, { path: `/?me=${me}`, headers: id ? { "x-isle-invocation-id": id } : {} });
    await Promise.all([ask("one", "inv-1"), ask("two", "inv-2")]);
    // Untagged writes go out as they come, so two untagged requests at once could interleave: one at a time.
    await ask("bad", "not valid!");
    await ask("none");
    const logs = await running!.logsWith("b none");
    for (const [me, id] of [["one", "inv-1"], ["two", "inv-2"]]) {
      expect(logs).toContain(`\x1e${id}\x1fa ${me}\n`);
      expect(logs).toContain(`\x1e${id}\x1fb ${me}\n`); // the unterminated last line, ended at the response
    }
    // Untagged output goes out as written: "b bad" has no newline, so "a none" follows it on its line.
    expect(logs).toMatch(/^a bad$/m);
    expect(logs).toMatch(/a none$/m);
    expect(logs).not.toMatch(/\x1e(not valid|undefined)/);
  });

  it("answers 500 with a fixed body when the handler raises, the traceback only in the logs", async () => {
    const fn = await serve({ "handler.py": echoHandler });
    const answer = await request(fn.socket, { path: "/boom" });
    expect(answer.status).toBe(500);
    expect(answer.body.toString()).toBe("internal error\n");
    expect(answer.body.toString()).not.toContain("secret");
    expect(await fn.logsWith("ValueError: secret detail 42")).toContain("ValueError: secret detail 42");
    // The server survives the failure.
    expect((await request(fn.socket, { path: "/raw", method: "POST", body: "again" })).body.toString()).toBe("again");
  });

  it("carries an 8 MiB body through unchanged, in both directions", async () => {
    const { socket } = await serve({ "handler.py": echoHandler });
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    const answer = await request(socket, { method: "POST", path: "/raw", body: big });
    expect(answer.status).toBe(200);
    expect(answer.body.equals(big)).toBe(true);
  });

  it("refuses to start when handler.py defines neither handle nor app", async () => {
    await expect(serve({ "handler.py": "x = 1\n" })).rejects.toThrow(/defines neither handle\(request\) nor a WSGI app/);
  });
});

describe("the Python watchdog, WSGI mode", () => {
  it("serves a WSGI app: status, headers, the input stream and CGI variables", async () => {
    const app = `
def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"] or 0))
    start_response("202 Accepted", [("Content-Type", "text/plain"), ("X-Path", environ["PATH_INFO"])])
    return [environ["REQUEST_METHOD"].encode(), b" ", environ["QUERY_STRING"].encode(), b" ", body, b" ", environ.get("HTTP_X_TOKEN", "").encode()]
`;
    const { socket } = await serve({ "handler.py": app });
    const answer = await request(socket, { method: "PUT", path: "/w?q=1", headers: { "x-token": "t" }, body: "data" });
    expect(answer.status).toBe(202);
    expect(answer.headers["x-path"]).toBe("/w");
    expect(answer.body.toString()).toBe("PUT q=1 data t");
  });
});

describe("the Python watchdog, exec mode", () => {
  const script = `#!/bin/sh
case "$PATH_INFO" in
  /fail) echo "went wrong" >&2; exit 3 ;;
  /slow) sleep 30 & echo $! > "$MARK"; wait ;;
  /echo) cat ;;
esac
echo "$REQUEST_METHOD $PATH_INFO $QUERY_STRING $CONTENT_LENGTH $HTTP_X_THING $GREETING"
`;

  it("runs the executable per request: CGI variables and function env in, stdout out", async () => {
    const { socket } = await serve({ handler: script }, { GREETING: "hi" });
    const answer = await request(socket, { method: "POST", path: "/x?y=1", headers: { "x-thing": "t" }, body: "abc" });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe("POST /x y=1 3 t hi\n");
  });

  it("answers 500 on a non-zero exit, stderr to the logs", async () => {
    const fn = await serve({ handler: script });
    const answer = await request(fn.socket, { path: "/fail" });
    expect(answer.status).toBe(500);
    expect(answer.body.toString()).not.toContain("went wrong");
    expect(await fn.logsWith("went wrong")).toContain("went wrong");
    expect(await fn.logsWith("exited with status 3")).toContain("exited with status 3");
  });

  it("kills an executable that overruns ISLE_EXEC_TIMEOUT, children included, and answers 504", async () => {
    const mark = join(root, "slow.pid");
    const fn = await serve({ handler: script }, { ISLE_EXEC_TIMEOUT: "0.5", MARK: mark });
    const started = Date.now();
    const answer = await request(fn.socket, { path: "/slow" });
    expect(answer.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(5_000);
    const sleeper = Number(readFileSync(mark, "utf8").trim());
    expect(aliveOrZombie(sleeper)).not.toBe("alive");
    expect(await fn.logsWith("was killed")).toContain("was killed");
  });

  it("streams an 8 MiB body through stdin and stdout", async () => {
    const { socket } = await serve({ handler: script });
    const big = Buffer.alloc(8 * 1024 * 1024, "z");
    const answer = await request(socket, { method: "POST", path: "/echo", body: big });
    expect(answer.status).toBe(200);
    expect(answer.body.subarray(0, big.length).equals(big)).toBe(true);
  });
});
