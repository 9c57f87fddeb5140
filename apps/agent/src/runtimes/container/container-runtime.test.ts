import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { artifactHash, encodeContainerArtifact, type ContainerRootfs } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import type { LogLine, LogSink } from "../../logs/invocation-log.js";
import type { RuntimeRequest } from "../runtime.js";
import { ContainerRuntime } from "./container-runtime.js";
import { rootfsForTests } from "./rootfs-for-tests.js";
import { readAll, requireRuncHost } from "./test-helpers.js";

// Real runc, real Debian root filesystems, real watchdogs: needs root, fails without it.
const python = `
import os, sys
def handle(request):
    print("handling", request.path)
    if request.path == "/oom":
        hog = bytearray(400 * 1024 * 1024)
        return str(len(hog))
    return {"status": 200, "body": {"hello": request.args.get("name", ["world"])[0], "greeting": os.environ.get("GREETING")}}
`;
const exec = `#!/bin/sh
echo "exec $REQUEST_METHOD $PATH_INFO" >&2
if [ "$PATH_INFO" = /forkbomb ]; then
  bomb() { bomb | bomb & }
  bomb
  sleep 60
fi
printf 'got %s' "$(cat)"
`;
const broken = "def handle(request:\n";

const prefix = `isle-rt-${process.pid}-`;
let dir: string;
let runtime: ContainerRuntime;
const artifacts = new Map<string, Buffer>();
let invocations = 0;

/** Collects what a runtime writes into an invocation's logs. */
class Lines implements LogSink {
  readonly lines: LogLine[] = [];
  readonly full = false;
  add(lines: readonly LogLine[]): void {
    this.lines.push(...lines);
  }
  has(level: string, pattern: RegExp): true | undefined {
    return this.lines.some((l) => l.level === level && pattern.test(l.message)) ? true : undefined;
  }
}

function deploy(rootfs: ContainerRootfs, entry: string, source: string): { isolateId: string; artifactHash: string } {
  const bytes = encodeContainerArtifact({ rootfs, entry, files: [{ path: entry, mode: 0o755, content: Buffer.from(source) }] });
  const hash = artifactHash(bytes);
  artifacts.set(hash, bytes);
  return { isolateId: `t1:d-${hash.slice(0, 8)}:${hash}:1`, artifactHash: hash };
}

function request(fn: { isolateId: string; artifactHash: string }, path: string, init: { body?: string; logs?: LogSink; timeoutMs?: number } = {}): RuntimeRequest {
  return {
    ...fn,
    envRef: "t1:f1:1",
    invocationId: `inv-${invocations++}`,
    method: init.body === undefined ? "GET" : "POST",
    url: `https://fn.example${path}`,
    headers: init.body === undefined ? [] : [["content-length", String(Buffer.byteLength(init.body))]],
    body: init.body === undefined ? null : Readable.from([Buffer.from(init.body)]),
    signal: AbortSignal.timeout((init.timeoutMs ?? 20_000) + 5_000),
    logs: init.logs,
    limits: { memoryMb: 96, wallTimeoutMs: init.timeoutMs ?? 20_000 },
  };
}

async function call(fn: { isolateId: string; artifactHash: string }, path: string, init: Parameters<typeof request>[2] = {}) {
  const response = await runtime.invoke(request(fn, path, init));
  return { status: response.status, coldStart: response.coldStart, text: await readAll(response.body) };
}

async function failure(promise: Promise<unknown>): Promise<IsleError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(IsleError);
  return err as IsleError;
}

async function until<T>(read: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    const value = read();
    if (value !== undefined) return value;
  }
  throw new Error("condition not met in time");
}

const runcList = () => (JSON.parse(execFileSync("runc", ["--root", join(dir, "w".repeat(90), "work/bundles/state"), "list", "--format", "json"], { encoding: "utf8" }) || "[]") ?? []) as Array<{ id: string }>;

beforeAll(async () => {
  requireRuncHost();
  const rootfsDir = rootfsForTests(["python3", "exec", "node"]);
  dir = mkdtempSync(join(tmpdir(), "isle-container-runtime-"));
  runtime = new ContainerRuntime({
    // Deep on purpose: socket paths must not grow with the work directory (Linux allows 107 bytes).
    workDir: join(dir, "w".repeat(90), "work"),
    rootfsDir,
    artifacts: { get: async (hash) => artifacts.get(hash) ?? Promise.reject(new Error("no such artifact")) },
    env: { get: async () => ({ GREETING: "hi", ISLE_EXEC: "/bin/false" }) },
    logger: createLogger({ service: "test", level: "warn" }),
    idPrefix: prefix,
    cgroupParent: "isle-test",
    defaults: { pidsMax: 64 },
    stopGraceMs: 500,
  });
  await runtime.start();
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("ContainerRuntime with real runc", () => {
  const hello = deploy("python3", "handler.py", python);
  const shell = deploy("exec", "handler", exec);

  it("starts a Python function's container on its first request, then serves warm, with its env and output lines", async () => {
    const logs = new Lines();
    const first = await call(hello, "/greet?name=isle", { logs });
    expect(first).toMatchObject({ status: 200, coldStart: true });
    expect(JSON.parse(first.text)).toEqual({ hello: "isle", greeting: "hi" });
    const second = await call(hello, "/again");
    expect(second).toMatchObject({ status: 200, coldStart: false });
    await until(() => logs.has("log", /^handling \/greet$/));
  });

  it("files each line under its own invocation when several run at once in one container", async () => {
    const fn = deploy("python3", "handler.py", `import time\ndef handle(request):\n    me = request.args["me"][0]\n    print("start", me)\n    time.sleep(0.3)\n    print("end", me, end="")\n    return me\n`);
    await call(fn, "/?me=warmup");
    const logs = [new Lines(), new Lines(), new Lines()];
    const answers = await Promise.all(logs.map((l, i) => call(fn, `/?me=r${i}`, { logs: l })));
    expect(answers.map((a) => a.text)).toEqual(["r0", "r1", "r2"]);
    for (const [i, l] of logs.entries()) {
      await until(() => (l.lines.length >= 2 ? true : undefined));
      expect(l.lines.map((line) => line.message)).toEqual([`start r${i}`, `end r${i}`]);
    }
  });

  it("runs an executable per request with the body on stdin; a function's env cannot change the watchdog's settings", async () => {
    const logs = new Lines();
    const answer = await call(shell, "/echo", { body: "ping", logs });
    expect(answer).toMatchObject({ status: 200, text: "got ping" });
    await until(() => logs.has("error", /^exec POST \/echo$/));
  });

  it("runs a Node.js (event, context) function on the node root filesystem", async () => {
    const fn = deploy("node", "index.js", "module.exports = async (event, context) => { console.log('node saw', event.path); return context.status(201).succeed({ path: event.path, greeting: process.env.GREETING }); };");
    const logs = new Lines();
    const answer = await call(fn, "/n", { logs });
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.text)).toEqual({ path: "/n", greeting: "hi" });
    await until(() => logs.has("log", /^node saw \/n$/));
  });

  it("prewarms: the next request is warm", async () => {
    const fn = deploy("python3", "handler.py", `${python}\n# prewarmed copy\n`);
    expect(await runtime.prewarm({ ...fn, envRef: "t1:f1:1" }, 20_000)).toEqual({ coldStart: true });
    expect(await call(fn, "/")).toMatchObject({ status: 200, coldStart: false });
  });

  it("a function that cannot start is a function_error, its traceback in the request's logs", async () => {
    const fn = deploy("python3", "handler.py", broken);
    const logs = new Lines();
    const err = await failure(runtime.invoke(request(fn, "/", { logs })));
    expect(err.code).toBe("function_error");
    expect(logs.has("error", /SyntaxError/)).toBe(true);
  });

  it("a killed container comes back by itself, and serves again", async () => {
    const fn = deploy("python3", "handler.py", `${python}\n# killed copy\n`);
    await call(fn, "/");
    const before = runtime.containers().get(fn.isolateId)!;
    execFileSync("runc", ["--root", join(dir, "w".repeat(90), "work/bundles/state"), "kill", before, "KILL"]);
    const after = await until(() => {
      const id = runtime.containers().get(fn.isolateId);
      return id && id !== before ? id : undefined;
    });
    expect(after).not.toBe(before);
    expect(await call(fn, "/")).toMatchObject({ status: 200, coldStart: false });
  });

  it("a memory bomb is killed in its own container (memory_limit) while another function keeps serving", async () => {
    const bomb = deploy("python3", "handler.py", `${python}\n# bomb copy\n`);
    await call(bomb, "/");
    const err = await failure(runtime.invoke(request(bomb, "/oom")));
    expect(err.code).toBe("memory_limit");
    expect(await call(hello, "/still-here")).toMatchObject({ status: 200 });
  });

  it("a fork bomb stops at the container's pids limit; the watchdog kills its process group and serves again", async () => {
    const fn = deploy("exec", "handler", `${exec}\n# forkbomb copy\n`);
    const answer = await call(fn, "/forkbomb", { timeoutMs: 3_000 });
    // 504 when the bomb outlives the timeout, 500 when its own script fails to fork first: contained either way.
    expect([500, 504]).toContain(answer.status);
    expect(runtime.events(fn.isolateId)?.pidsMax).toBeGreaterThan(0);
    // The bomb's processes take a moment to die after the watchdog killed their group.
    let after = await call(fn, "/after", { body: "x" });
    for (let tries = 0; after.status !== 200 && tries < 20; tries++) {
      await new Promise((r) => setTimeout(r, 250));
      after = await call(fn, "/after", { body: "x" });
    }
    expect(after).toMatchObject({ status: 200, text: "got x" });
    expect(await call(hello, "/still-here")).toMatchObject({ status: 200 });
  });

  it("a function that ignores SIGTERM is SIGKILLed after the grace when evicted; the others keep serving", async () => {
    // A thread that never ends keeps Python from exiting on SIGTERM (the interpreter waits for it).
    const fn = deploy("python3", "handler.py", `import threading, time\nthreading.Thread(target=lambda: time.sleep(3600)).start()\n${python}`);
    await call(fn, "/");
    const id = runtime.containers().get(fn.isolateId)!;
    const started = Date.now();
    await runtime.evict([fn.isolateId]);
    // The grace is 500 ms here; without the SIGKILL after it the evict would never end.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(runcList().map((c) => c.id)).not.toContain(id);
    expect(await call(hello, "/still-here")).toMatchObject({ status: 200 });
  });

  it("eviction stops the container and nothing is left in runc", async () => {
    const fn = deploy("python3", "handler.py", `${python}\n# evicted copy\n`);
    await call(fn, "/");
    const id = runtime.containers().get(fn.isolateId)!;
    expect(runcList().map((c) => c.id)).toContain(id);
    await runtime.evict([fn.isolateId]);
    expect(runcList().map((c) => c.id)).not.toContain(id);
    expect(runtime.containers().has(fn.isolateId)).toBe(false);
    // Evicted is not gone: the next request starts it again, cold.
    expect(await call(fn, "/")).toMatchObject({ status: 200, coldStart: true });
  });
});
