import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { MemoryArtifacts, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRuntime } from "./workerd-runtime.js";

const bomb = "export default { fetch() { const hoard = []; for (;;) hoard.push(new Array(1e6).fill(Math.random())); } };";
const hello = "export default { fetch: () => new Response('hello') };";

// Memory is bounded per workerd process with a cgroup v1 memory group (this
// machine has one; where there is none the runtime warns and runs unbounded,
// and this test fails loudly rather than pass).
describe("WorkerdRuntime memory limit", () => {
  const artifacts = new MemoryArtifacts();
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, processes: 1, memoryLimitMb: 192 }));
  });
  afterAll(async () => {
    await stop?.();
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
