import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { createLogger } from "@isle/telemetry";
import { MemoryArtifacts, MemoryEnv, runtimeRequest, text } from "./test-helpers.js";
import { WorkerdRuntime } from "./workerd-runtime.js";

const bomb = "export default { fetch() { const hoard = []; for (;;) hoard.push(new Array(1e6).fill(Math.random())); } };";
const hello = "export default { fetch: () => new Response('hello') };";

// Memory is bounded per workerd process with a cgroup v1 memory group (this
// machine has one; where there is none the runtime warns and runs unbounded,
// and this test fails loudly rather than pass).
describe("WorkerdRuntime memory limit", () => {
  const artifacts = new MemoryArtifacts();
  let workDir: string;
  let runtime: WorkerdRuntime;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "isle-wd-"));
    runtime = new WorkerdRuntime({
      workDir,
      artifacts,
      env: new MemoryEnv(),
      processes: 1,
      memoryLimitMb: 192,
      logger: createLogger({ service: "agent-test", level: "silent" }),
    });
    await runtime.start();
  });
  afterAll(async () => {
    await runtime?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it("stops a function that grows without limit with memory_limit, and serves again", async () => {
    const [pid] = runtime.pids();
    const err = await runtime
      .invoke(runtimeRequest("t1", artifacts.add(bomb), "/", { signal: AbortSignal.timeout(30_000) }))
      .then((r) => text(r.body))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(IsleError);
    expect((err as IsleError).code).toBe("memory_limit");
    const started = Date.now();
    while (runtime.status().ready !== 1 || runtime.pids()[0] === pid) {
      if (Date.now() - started > 10_000) throw new Error("the process was not restarted");
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await text((await runtime.invoke(runtimeRequest("t2", artifacts.add(hello), "/"))).body)).toBe("hello");
  });
});
