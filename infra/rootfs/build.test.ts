import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type RunningWatchdog, request, startWatchdog } from "./test-support/watchdog-process.js";

// Builds each root filesystem for real (a few seconds each once the .debs are in
// ISLE_ROOTFS_CACHE, ~/.cache/isle/debs by default; the first run downloads about 15 MB) and runs
// its watchdog inside it with chroot as the unprivileged user: what runc will do, minus the
// namespaces and cgroups. chroot needs root; without it these tests fail rather than skip.
const script = join(import.meta.dirname, "build.sh");
const root = mkdtempSync(join(tmpdir(), "isle-rootfs-test-"));
let running: RunningWatchdog | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function build(kind: string): string {
  const out = join(root, kind);
  const ran = spawnSync(script, [kind, out], { encoding: "utf8" });
  expect(ran.status, ran.stderr).toBe(0);
  return out;
}

/** Starts the rootfs's own command (/opt/isle/command) in a chroot as uid 65532, the function in /app. */
async function serveInside(out: string, app: Record<string, string>, env: Record<string, string> = {}): Promise<RunningWatchdog> {
  for (const [file, text] of Object.entries(app)) writeFileSync(join(out, "app", file), text, { mode: 0o755 });
  chmodSync(join(out, "run/isle"), 0o777); // the agent's bind-mounted socket directory
  const command = JSON.parse(readFileSync(join(out, "opt/isle/command"), "utf8")) as string[];
  const chroot = execFileSync("sh", ["-c", "command -v chroot"], { encoding: "utf8" }).trim();
  const variables = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  running = await startWatchdog("env", ["-i", ...variables, chroot, "--userspec=65532:65532", out, ...command], join(out, "run/isle/http.sock"), {});
  return running;
}

describe("build.sh", () => {
  it("builds a python3 rootfs whose watchdog serves a handler as the isle user", async () => {
    const out = build("python3");
    expect(readFileSync(join(out, "etc/passwd"), "utf8")).toContain("isle:x:65532:65532:");
    const fn = await serveInside(out, { "handler.py": "import os, sys\ndef handle(request):\n    return f'{sys.version_info[:2]} uid={os.getuid()} {request.path}'\n" });
    const answer = await request(fn.socket, { path: "/in" });
    expect(answer.body.toString()).toBe("(3, 11) uid=65532 /in");
  });

  it("builds a node rootfs with the host's Node 20 and the (event, context) watchdog", async () => {
    const out = build("node");
    expect(readFileSync(join(out, "opt/isle/rootfs-info"), "utf8")).toContain(`node=${process.version}`);
    const fn = await serveInside(out, { "index.js": "module.exports = async (event, context) => context.succeed(`${process.version} ${event.path}`);\n" });
    expect((await request(fn.socket, { path: "/in" })).body.toString()).toBe(`${process.version} /in`);
  });

  it("builds an exec rootfs whose shell scripts run per request with busybox", async () => {
    const out = build("exec");
    const fn = await serveInside(out, { handler: "#!/bin/sh\necho \"$REQUEST_METHOD $PATH_INFO $(id -u) $(wc -c)\"\n" });
    expect((await request(fn.socket, { method: "POST", path: "/in", body: "12345" })).body.toString()).toBe("POST /in 65532 5\n");
  });

  it("refuses an unknown kind and a non-empty output directory", () => {
    expect(spawnSync(script, ["ruby", join(root, "r")]).status).toBe(2);
    const used = join(root, "used");
    mkdirSync(used);
    writeFileSync(join(used, "x"), "");
    const ran = spawnSync(script, ["python3", used], { encoding: "utf8" });
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain("exists and is not empty");
  });
});
