import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { MemoryArtifacts, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRuntime } from "./workerd-runtime.js";

const bombSource = "export default { fetch() { const hoard = []; for (;;) hoard.push(new Array(1e6).fill(Math.random())); } };";
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
      .invoke(runtimeRequest("t1", artifacts.add(bombSource), "/", { signal: AbortSignal.timeout(30_000) }))
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

describe("WorkerdRuntime memory limit with bystanders", () => {
  const artifacts = new MemoryArtifacts();
  const slow = "export default { async fetch() { await new Promise((r) => setTimeout(r, 3000)); return new Response('slow-ok'); } };";
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, processes: 2, memoryLimitMb: 192 }));
  });
  afterAll(async () => {
    await stop?.();
  });

  it("retries elsewhere the requests of isolates that had answered before, and blames the one that never did", async () => {
    const slowHash = artifacts.add(slow);
    const call = (tenant: string) => runtime.invoke(runtimeRequest(tenant, slowHash, "/", { signal: AbortSignal.timeout(30_000) })).then((r) => text(r.body));
    // Both bystanders have answered once; then one runs in each process, so the bomb shares a process with one.
    expect(await Promise.all([call("bystander-a"), call("bystander-b")])).toEqual(["slow-ok", "slow-ok"]);
    const bystanders = Promise.all([call("bystander-a"), call("bystander-b")]);
    await new Promise((r) => setTimeout(r, 100));
    const bomb = await runtime
      .invoke(runtimeRequest("t1", artifacts.add(bombSource), "/", { signal: AbortSignal.timeout(30_000) }))
      .then((r) => text(r.body))
      .catch((e: unknown) => e);
    expect((bomb as IsleError).code).toBe("memory_limit");
    expect(await bystanders).toEqual(["slow-ok", "slow-ok"]);
  });
});
