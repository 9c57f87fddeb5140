import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { createLogger } from "@isle/telemetry";
import { MemoryArtifacts, MemoryEnv, runtimeRequest, text } from "./test-helpers.js";
import { WorkerdRuntime } from "./workerd-runtime.js";

const slowOnRequest = `export default {
  async fetch(req) {
    if (new URL(req.url).pathname === "/slow") await new Promise((r) => setTimeout(r, 60_000));
    return new Response("ok");
  }
}`;

/** Pids of processes whose command line mentions `dir`: workerd and its setpriv wrapper. */
function processesUsing(dir: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", dir], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("WorkerdRuntime process lifecycle", () => {
  const artifacts = new MemoryArtifacts();
  const env = new MemoryEnv();
  const hash = artifacts.add(slowOnRequest);
  let workDir: string | undefined;
  let runtime: WorkerdRuntime | undefined;

  async function startRuntime(processes: number): Promise<WorkerdRuntime> {
    workDir = await mkdtemp(join(tmpdir(), "isle-wd-"));
    runtime = new WorkerdRuntime({
      workDir,
      artifacts,
      env,
      processes,
      logger: createLogger({ service: "agent-test", level: "silent" }),
    });
    await runtime.start();
    return runtime;
  }

  afterEach(async () => {
    await runtime?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    runtime = undefined;
    workDir = undefined;
  });

  it("fails a request in flight on a killed process promptly, then restarts the process", async () => {
    const rt = await startRuntime(1);
    await text((await rt.invoke(runtimeRequest("t1", hash, "/"))).body); // load the isolate
    const [pid] = rt.pids();
    expect(pid).toBeTypeOf("number");

    const inFlight = rt.invoke(runtimeRequest("t1", hash, "/slow")).catch((err: unknown) => err);
    await until(() => rt.status().inFlight === 1, 2_000);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let it reach the function
    const killedAt = Date.now();
    process.kill(pid!, "SIGKILL");

    const error = await inFlight;
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(IsleError);
    expect((error as IsleError).code).toBe("upstream_failed");
    expect(rt.status().inFlight).toBe(0);

    // The socket can break a moment before Node sees the exit: wait for a new pid.
    await until(() => rt.status().ready === 1 && rt.pids().length === 1 && !rt.pids().includes(pid!), 5_000);
    const response = await rt.invoke(runtimeRequest("t1", hash, "/"));
    expect(response.coldStart).toBe(true); // a new process loads the isolate again
    expect(await text(response.body)).toBe("ok");
  });

  it("answers unavailable while no process is ready", async () => {
    const rt = await startRuntime(1);
    process.kill(rt.pids()[0]!, "SIGKILL");
    await until(() => rt.status().ready === 0, 2_000);
    const error = await rt.invoke(runtimeRequest("t1", hash, "/")).catch((err: unknown) => err);
    expect((error as IsleError).code).toBe("unavailable");
  });

  it("cancels a request when its signal aborts", async () => {
    const rt = await startRuntime(1);
    const controller = new AbortController();
    const pending = rt.invoke(runtimeRequest("t1", hash, "/slow", { signal: controller.signal })).catch((e: unknown) => e);
    await until(() => rt.status().inFlight === 1, 2_000);
    controller.abort(new IsleError("timeout", "deadline passed"));
    const error = await pending;
    expect((error as IsleError).code).toBe("timeout");
    await until(() => rt.status().inFlight === 0, 1_000);
  });

  it("leaves no workerd process behind after stop()", async () => {
    const rt = await startRuntime(2);
    const dir = workDir!;
    expect(processesUsing(dir)).toHaveLength(2);
    // A request in flight must not keep a process alive either.
    const pending = rt.invoke(runtimeRequest("t1", hash, "/slow")).catch((err: unknown) => err);
    await until(() => rt.status().inFlight === 1, 2_000);
    await rt.stop();
    expect(processesUsing(dir)).toEqual([]);
    expect(((await pending) as IsleError).code).toBe("upstream_failed");
    const error = await rt.invoke(runtimeRequest("t1", hash, "/")).catch((err: unknown) => err);
    expect((error as IsleError).code).toBe("unavailable");
  });
});
