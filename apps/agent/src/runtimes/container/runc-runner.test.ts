import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerLimits } from "./bundle-spec.js";
import { RuncRunner, type ContainerSpec, type RuncContainer } from "./runc-runner.js";
import { buildTestRootfs, readAll, requireRuncHost } from "./test-helpers.js";

// Real runc, real namespaces and cgroups: these tests need root and fail without it.
const limits: ContainerLimits = { memoryMb: 64, cpu: 0.5, pidsMax: 32, tmpMb: 4 };
const env = ["PATH=/bin"];

let dir: string;
let rootfs: string;
let runner: RuncRunner;
let names = 0;

function options(): ConstructorParameters<typeof RuncRunner>[0] {
  return { workDir: join(dir, "work"), stateDir: join(dir, "state"), idPrefix: `isle-test-${process.pid}-`, cgroupParent: "isle-test" };
}

function shell(script: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return { rootfs, args: ["/bin/sh", "-c", script], env, limits, ...overrides };
}

async function run(spec: ContainerSpec): Promise<{ container: RuncContainer; stdout: Promise<string>; stderr: Promise<string> }> {
  const container = await runner.run(`c${names++}`, spec);
  return { container, stdout: readAll(container.stdout), stderr: readAll(container.stderr) };
}

beforeAll(async () => {
  requireRuncHost();
  dir = mkdtempSync(join(tmpdir(), "isle-runc-"));
  rootfs = buildTestRootfs(join(dir, "rootfs"));
  runner = new RuncRunner(options());
  await runner.cleanupLeftovers();
});

afterAll(async () => {
  if (runner) await runner.cleanupLeftovers();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("RuncRunner with real runc", () => {
  it("runs as the unprivileged user on a read-only root with a writable /tmp, only lo, and captures stdout and stderr", async () => {
    const { container, stdout, stderr } = await run(
      shell("id -u; id -g; echo x > /x || echo root-read-only; echo kept > /tmp/f && cat /tmp/f; cat /proc/net/dev; echo to-stderr >&2"),
    );
    expect(await container.exited).toBe(0);
    const out = await stdout;
    expect(out.split("\n").slice(0, 4)).toEqual(["65534", "65534", "root-read-only", "kept"]);
    const interfaces = out
      .split("\n")
      .slice(4)
      .map((line) => /^\s*([^\s:]+):/.exec(line)?.[1])
      .filter(Boolean);
    expect(interfaces).toEqual(["lo"]);
    const err = await stderr;
    expect(err).toMatch(/Read-only file system/);
    expect(err).toMatch(/to-stderr/);
    expect(await container.state()).toBe("stopped");
    await container.stop();
  });

  it("serves HTTP on a Unix socket in the mounted directory, reachable from the host", async () => {
    const server =
      "require('http').createServer((q, s) => s.end('hello from ' + process.getuid() + ' ' + q.url)).listen('/run/isle/http.sock', () => console.log('listening'))";
    const { container, stdout } = await run({ rootfs, args: ["/bin/node", "-e", server], env, limits: { ...limits, memoryMb: 256 } });
    const socket = join(container.socketDir, "http.sock");
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    const body = await new Promise<string>((resolve, reject) => {
      request({ socketPath: socket, path: "/ping" }, (res) => readAll(res).then(resolve, reject))
        .on("error", reject)
        .end();
    });
    expect(body).toBe("hello from 65534 /ping");
    const result = await container.stop(2_000);
    expect(await stdout).toBe("listening\n");
    expect(result.events).toEqual({ oom: 0, oomKill: 0, pidsMax: 0 });
  });

  it("OOM-kills a memory bomb at the memory limit and the cgroup's counters show it", async () => {
    const { container } = await run(shell("x=0123456789; while :; do x=$x$x; done"));
    expect(await container.exited).toBe(128 + 9);
    const { events } = await container.stop();
    expect(events.oomKill).toBeGreaterThanOrEqual(1);
  });

  it("stops a fork bomb at pids.max, the cgroup's counter shows it, and the host still forks", async () => {
    const { container } = await run(shell("while :; do sleep 60 & done"));
    await Promise.race([container.exited, new Promise((r) => setTimeout(r, 3_000))]);
    const { events } = await container.stop(0);
    expect(events.pidsMax).toBeGreaterThanOrEqual(1);
    expect(execFileSync("/bin/sh", ["-c", "echo host-ok"], { encoding: "utf8" })).toBe("host-ok\n");
  });

  it("SIGKILLs a process that ignores SIGTERM once the grace has passed, and lets a cooperative one exit", async () => {
    const stubborn = await run(shell("trap '' TERM; echo ready; while :; do sleep 1; done"));
    const started = Date.now();
    expect((await stubborn.container.stop(500)).killed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(stubborn.container.running()).toBe(false);

    const polite = await run(shell("trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done"));
    for (let i = 0; i < 50 && !existsSync(`/proc/${polite.container.pid}`); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect((await polite.container.stop(5_000)).killed).toBe(false);
  });

  it("fails a run whose process cannot start with runc's reason, and leaves nothing behind", async () => {
    await expect(runner.run("bad", shell("", { args: ["/bin/no-such-program"] }))).rejects.toThrow(/no-such-program.*no such file|not found/i);
    expect(readdirSync(join(dir, "work"))).toEqual([]);
  });

  it("deletes the containers and bundles a previous agent run left behind", async () => {
    const left = await run(shell("sleep 600"));
    const pid = left.container.pid;
    const next = new RuncRunner(options());
    expect(await next.cleanupLeftovers()).toContain(left.container.id);
    expect(JSON.parse((await next.exec(["list", "--format", "json"])) || "null")).toBeNull();
    expect(readdirSync(join(dir, "work"))).toEqual([]);
    await left.container.exited;
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
