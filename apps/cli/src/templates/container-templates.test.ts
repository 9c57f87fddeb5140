import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runIsle, scratchDir } from "../test-support/fake-io.js";

// The watchdogs that serve these templates live in the root filesystems (infra/rootfs/watchdog/);
// here they run on the host against what `isle init` wrote, so a template and its watchdog cannot
// drift apart unnoticed.
const watchdogs = join(import.meta.dirname, "../../../../infra/rootfs/watchdog");
const servers: ChildProcess[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.kill("SIGKILL");
});

async function serve(command: string, args: string[], app: string): Promise<string> {
  const socket = join(app, "..", "http.sock");
  const server = spawn(command, args, { env: { PATH: process.env.PATH, ISLE_SOCKET: socket, ISLE_APP: app, GREETING: "Hi" }, stdio: "inherit" });
  servers.push(server);
  for (let waited = 0; !existsSync(socket); waited += 20) {
    if (server.exitCode !== null || waited > 10_000) throw new Error(`${command} ${args.join(" ")} did not start serving`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return socket;
}

function get(socket: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ socketPath: socket, path }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

async function init(template: string): Promise<string> {
  const dir = join(scratchDir(), "fn");
  const ran = await runIsle(["init", "hello", "--template", template, "--dir", dir]);
  expect(ran.code, ran.stderr).toBe(0);
  expect(readFileSync(join(dir, "isle.yaml"), "utf8")).toContain("runtime: container");
  return dir;
}

describe("isle init's container templates", () => {
  it("python: handler.py answers through the Python watchdog", async () => {
    const socket = await serve("python3", ["-u", join(watchdogs, "python/isle_watchdog.py")], await init("python"));
    const answer = await get(socket, "/?name=Ada");
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ message: "Hi, Ada!" });
  });

  it("node-container: index.js answers through the Node.js watchdog", async () => {
    const socket = await serve(process.execPath, [join(watchdogs, "node/watchdog.cjs")], await init("node-container"));
    const answer = await get(socket, "/?name=Ada");
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ message: "Hi, Ada!" });
  });

  it("exec: an executable handler script answers through the watchdog's exec mode", async () => {
    const dir = await init("exec");
    expect(statSync(join(dir, "handler")).mode & 0o111).not.toBe(0);
    const socket = await serve("python3", ["-u", join(watchdogs, "python/isle_watchdog.py")], dir);
    expect(await get(socket, "/greet")).toEqual({ status: 200, body: "Hi! 0 bytes came to /greet\n" });
  });
});
