import { readFileSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { MemoryArtifacts, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRecycle, WorkerdRuntime, WorkerdRuntimeOptions } from "./workerd-runtime.js";

const hello = "export default { fetch: () => new Response('hello') };";
const slow = "export default { async fetch() { await new Promise((r) => setTimeout(r, 300)); return new Response('slow-ok'); } };";
// A pending timer: workerd cancels a request whose promise can never settle, but not one that waits.
const never = "export default { async fetch() { await new Promise((r) => setTimeout(r, 600_000)); return new Response('late'); } };";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssOf(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

// workerd never unloads a Worker Loader isolate; the runtime recycles a
// process whose memory passes the budget. Budgets here are tiny so that a
// handful of isolates (or nothing at all) passes them.
describe("WorkerdRuntime recycling", () => {
  const artifacts = new MemoryArtifacts();
  const helloHash = artifacts.add(hello);
  const slowHash = artifacts.add(slow);
  let stop: (() => Promise<void>) | undefined;
  /** A process with one isolate loaded, plus room for a few more. */
  let smallBudget: number;

  async function start(options: Partial<WorkerdRuntimeOptions>): Promise<{ runtime: WorkerdRuntime; recycles: WorkerdRecycle[] }> {
    const recycles: WorkerdRecycle[] = [];
    const started = await startTestRuntime({ artifacts, recycleCheckMs: 50, onRecycle: (r) => recycles.push(r), ...options });
    stop = started.stop;
    return { runtime: started.runtime, recycles };
  }

  beforeAll(async () => {
    const probe = await start({ processes: 1 });
    await text((await probe.runtime.invoke(runtimeRequest("iso-0", helloHash, "/"))).body);
    smallBudget = rssOf(probe.runtime.pids()[0]!) + 8 * 2 ** 20;
    await stop!();
    stop = undefined;
  });

  /** Loads up to 100 new isolates one by one until a recycle is reported (a drain may outlast the loading); returns how many it loaded. */
  async function loadUntilRecycled(runtime: WorkerdRuntime, recycles: WorkerdRecycle[], prefix: string): Promise<number> {
    let loaded = 0;
    while (recycles.length === 0 && loaded < 100) {
      await text((await runtime.invoke(runtimeRequest(`${prefix}-${loaded++}`, helloHash, "/"))).body);
    }
    await until(() => recycles.length > 0, 10_000, `no recycle after ${loaded} isolates`);
    return loaded;
  }

  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it("recycles a process once its isolates pass the budget, finishing the requests in flight; its isolates then start cold", async () => {
    const { runtime, recycles } = await start({ processes: 1, recycleBytes: smallBudget });
    const [pid] = runtime.pids();
    const first = await runtime.invoke(runtimeRequest("iso-0", helloHash, "/"));
    expect(first.coldStart).toBe(true);
    await text(first.body);
    await sleep(200); // several checks: one isolate is within the budget
    expect(recycles).toEqual([]);

    // Load new isolates while a slow request is always in flight, until the process is recycled.
    const slowCalls: Array<Promise<{ status: number; body: string }>> = [];
    let loading = true;
    const keepOneSlow = (): void => {
      if (!loading) return;
      const call = runtime.invoke(runtimeRequest("slow", slowHash, "/")).then(async (r) => ({ status: r.status, body: await text(r.body) }));
      slowCalls.push(call);
      void call.then(keepOneSlow, keepOneSlow);
    };
    keepOneSlow();
    let loaded: number;
    try {
      loaded = await loadUntilRecycled(runtime, recycles, "iso-new");
    } finally {
      loading = false;
    }
    expect(await Promise.all(slowCalls)).toEqual(slowCalls.map(() => ({ status: 200, body: "slow-ok" })));
    expect(loaded).toBeGreaterThan(1);
    expect(recycles[0]).toMatchObject({ pid, abandoned: 0 });
    expect(recycles[0]!.inFlight).toBeGreaterThanOrEqual(1);
    expect(runtime.pids()).toHaveLength(1);
    expect(runtime.pids()[0]).not.toBe(pid);

    const again = await runtime.invoke(runtimeRequest("iso-0", helloHash, "/"));
    expect(again.coldStart).toBe(true);
    expect(await text(again.body)).toBe("hello");
  });

  it.each([2, 1])("fails no request while processes are recycled under load (%i processes)", async (processes) => {
    // A budget every process passes at once: recycles follow one another for as long as the test runs.
    // With two processes, the other takes the new requests: no holding needed for the drain to end.
    const hold = processes > 1 ? { recycleHoldAfterMs: 60_000 } : {};
    // A crash would wait a minute to restart: a recycle is no crash.
    const restart = { initialMs: 60_000, maxMs: 60_000, resetAfterMs: 60_000 };
    const { runtime, recycles } = await start({ processes, recycleBytes: 2 ** 20, restart, ...hold });
    const [slowish] = [artifacts.add("export default { async fetch() { await new Promise((r) => setTimeout(r, 20)); return new Response('hello'); } };")];
    const failures: unknown[] = [];
    let answered = 0;
    let running = true;
    const loop = async (n: number) => {
      for (let i = 0; running; i++) {
        const hash = i % 2 === 0 ? helloHash : slowish!;
        try {
          const response = await runtime.invoke(runtimeRequest(`load-${n % 5}`, hash, "/", { signal: AbortSignal.timeout(30_000) }));
          const body = await text(response.body);
          if (response.status !== 200 || body !== "hello") failures.push(`${response.status} ${body}`);
          answered++;
        } catch (err) {
          failures.push(err instanceof IsleError ? `${err.code}: ${err.message}` : String(err));
          return; // a failure that comes at once would otherwise spin this loop and starve the timers
        }
      }
    };
    const loops = Array.from({ length: 20 }, (_, n) => loop(n));
    try {
      await until(() => recycles.length >= 2 * processes || failures.length > 0, 20_000, `no ${2 * processes} recycles`);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(failures).toEqual([]);
    expect(recycles.every((r) => r.abandoned === 0)).toBe(true);
    expect(answered).toBeGreaterThan(0);
  }, 30_000);

  it("recycles a process that cannot drain after the drain timeout, failing only what never ended", async () => {
    // Hold from the start of the drain: the isolates loaded meanwhile wait for the new process, so only the hung request is left.
    const { runtime, recycles } = await start({ processes: 1, recycleBytes: smallBudget, recycleDrainMs: 300, recycleHoldAfterMs: 0 });
    const [pid] = runtime.pids();
    const hung = runtime.invoke(runtimeRequest("never", artifacts.add(never), "/")).then(
      () => "answered",
      (err: unknown) => err,
    );
    await until(() => runtime.status().inFlight === 1, 5_000, "the request did not start");
    await loadUntilRecycled(runtime, recycles, "filler");
    expect(recycles[0]).toMatchObject({ pid, abandoned: 1 });
    expect(((await hung) as IsleError).code).toBe("upstream_failed");
    expect(runtime.pids()[0]).not.toBe(pid);
    expect(await text((await runtime.invoke(runtimeRequest("after", helloHash, "/"))).body)).toBe("hello");
  });
});
