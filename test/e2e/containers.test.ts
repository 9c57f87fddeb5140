import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../harness/processes.js";
import { ensureTestRootfs } from "../harness/rootfs.js";
import { Stack } from "../harness/stack.js";

// Container functions through real processes: gateway → sidecar → agent → runc → the watchdog in a
// Debian root filesystem built on this machine (infra/rootfs/ensure.sh). Needs root and runc; fails
// without them (ISLE_CONTAINERS=on makes the agent refuse to start).

const python = `import os

def handle(request):
    print(f"python saw {request.method} {request.path}")
    if request.path == "/oom":
        hog = bytearray(512 * 1024 * 1024)
        return str(len(hog))
    return {"status": 200, "body": {"greeting": os.environ.get("GREETING", "none"), "who": request.args.get("who", ["?"])[0]}}
`;
const exec = `#!/bin/sh
echo "exec saw $REQUEST_METHOD $PATH_INFO" >&2
printf '%s:%s' "$GREETING" "$(cat)"
`;

interface InvocationRecord {
  id: string;
  status: string;
  coldStart: boolean;
  errorCode: string | null;
  logs: Array<{ level: string; message: string }>;
}

describe("container functions (runc)", () => {
  let stack: Stack;
  const stateDir = () => join(stack.dataDir, "agent/containers/bundles/state");
  const running = (): string[] =>
    ((JSON.parse(execFileSync("runc", ["--root", stateDir(), "list", "--format", "json"], { encoding: "utf8" }) || "null") ?? []) as Array<{ id: string; status: string }>)
      .filter((c) => c.status === "running")
      .map((c) => c.id);

  beforeAll(async () => {
    const rootfsDir = ensureTestRootfs(["python3", "exec"]);
    stack = await Stack.start({
      env: {
        agent: { ISLE_CONTAINERS: "on", ISLE_ROOTFS_DIR: rootfsDir },
        // Idle functions go to zero quickly, so the test sees containers stop and start again.
        gateway: { ISLE_SCALE_IDLE_S: "2", ISLE_SCALE_WINDOW_S: "6", ISLE_SCALER_TICK_MS: "250" },
      },
    });
    await stack.createTenant("acme");
    for (const [name, files] of [
      ["py", { "handler.py": python }],
      ["sh", { handler: exec }],
    ] as const) {
      await stack.configure("acme", name, { runtime: "container", visibility: "public", env: { GREETING: `hello from ${name}` } });
      const res = await stack.deploy("acme", name, files);
      expect(res.status, await res.clone().text()).toBe(201);
    }
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const invoke = (path: string, init?: RequestInit) => fetch(`${stack.baseUrl}/fn/acme/${path}`, init);
  async function record(id: string, lines: number): Promise<InvocationRecord> {
    let found: InvocationRecord | undefined;
    await waitUntil(
      async () => {
        const res = await stack.operator(`/v1/tenants/acme/invocations/${id}`);
        found = res.status === 200 ? ((await res.json()) as InvocationRecord) : undefined;
        return (found?.logs.length ?? 0) >= lines;
      },
      10_000,
      `the record of ${id}\n${stack.tail()}`,
    );
    return found!;
  }

  it("invokes a Python function and an executable through the gateway, with their records and logs", async () => {
    const py = await invoke("py/hello?who=isle");
    expect(py.status).toBe(200);
    expect(await py.json()).toEqual({ greeting: "hello from py", who: "isle" });
    const pyRecord = await record(py.headers.get("x-isle-invocation-id")!, 1);
    expect(pyRecord).toMatchObject({ status: "succeeded", coldStart: true });
    expect(pyRecord.logs).toContainEqual(expect.objectContaining({ level: "log", message: "python saw GET /hello" }));

    const sh = await invoke("sh/echo", { method: "POST", body: "ping" });
    expect(sh.status).toBe(200);
    expect(await sh.text()).toBe("hello from sh:ping");
    const shRecord = await record(sh.headers.get("x-isle-invocation-id")!, 1);
    expect(shRecord.logs).toContainEqual(expect.objectContaining({ level: "error", message: "exec saw POST /echo" }));

    const warm = await invoke("py/again");
    expect((await record(warm.headers.get("x-isle-invocation-id")!, 1)).coldStart).toBe(false);
  });

  it("a killed container comes back and serves again", async () => {
    expect((await invoke("py/before")).status).toBe(200);
    const before = running();
    expect(before.length).toBeGreaterThanOrEqual(1);
    for (const id of before) execFileSync("runc", ["--root", stateDir(), "kill", id, "KILL"]);
    await waitUntil(() => running().length === before.length && running().every((id) => !before.includes(id)), 15_000, `containers restarted\n${stack.tail()}`);
    const res = await invoke("py/after");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ greeting: "hello from py" });
  });

  it("a memory bomb fails with memory_limit inside its own container; the other function keeps serving", async () => {
    const bomb = await invoke("py/oom");
    expect(bomb.status).toBeGreaterThanOrEqual(500);
    expect(((await bomb.json()) as { error: { code: string } }).error.code).toBe("memory_limit");
    const other = await invoke("sh/still", { method: "POST", body: "up" });
    expect(await other.text()).toBe("hello from sh:up");
  });

  it("scales to zero when idle (the containers stop), starts again on the next request, and scale.min keeps one warm", async () => {
    await waitUntil(() => running().length === 0, 30_000, `containers stopped when idle\n${stack.tail()}`);
    const cold = await invoke("py/back");
    expect(cold.status).toBe(200);
    expect((await record(cold.headers.get("x-isle-invocation-id")!, 1)).coldStart).toBe(true);
    expect(running().length).toBe(1);

    // With a minimum the scaler starts the replica itself, before any request.
    await waitUntil(() => running().length === 0, 30_000, `containers stopped when idle\n${stack.tail()}`);
    await stack.configure("acme", "sh", { scale: { min: 1 } });
    await waitUntil(() => running().length === 1, 15_000, `the minimum replica started\n${stack.tail()}`);
    // runc lists it from its start; the agent counts it once its server listens.
    await waitUntil(
      async () => /^isle_agent_containers_running 1$/m.test(await (await fetch(stack.agentMetricsUrl)).text()),
      10_000,
      "the agent's gauge of running containers",
    );
    const warm = await invoke("sh/warm", { method: "POST", body: "w" });
    expect(await warm.text()).toBe("hello from sh:w");
    expect((await record(warm.headers.get("x-isle-invocation-id")!, 1)).coldStart).toBe(false);
  });
});
