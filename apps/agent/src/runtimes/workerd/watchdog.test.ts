import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedBody, MemoryArtifacts, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRuntime } from "./workerd-runtime.js";

const spins = "export default { fetch() { while (true) {} } };";
const waits = "export default { async fetch() { await new Promise((r) => setTimeout(r, 5000)); return new Response('late'); } };";
const hello = "export default { fetch: () => new Response('hello') };";
const digest = `export default { async fetch(req) {
  const bytes = await req.arrayBuffer();
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return new Response([...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join(""));
} };`;

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

// workerd enforces no CPU limit and one spinning request stalls its whole
// process; the runtime's liveness probe after an abandoned request finds and
// kills such a process, and spares one whose function merely waits.
describe("WorkerdRuntime watchdog", () => {
  const artifacts = new MemoryArtifacts();
  const runaways: string[] = [];
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;
  let lastSignal: AbortSignal | undefined;
  const ask = async (source: string, timeoutMs: number) => {
    lastSignal = AbortSignal.timeout(timeoutMs);
    return text((await runtime.invoke(runtimeRequest("t1", artifacts.add(source), "/", { signal: lastSignal }))).body);
  };

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, processes: 1, probeTimeoutMs: 500, onRunaway: (id) => runaways.push(id) }));
    expect(await ask(hello, 5000)).toBe("hello");
  });
  afterAll(async () => {
    await stop?.();
  });

  it("spares a process whose abandoned function was only waiting", async () => {
    const [pid] = runtime.pids();
    await expect(ask(waits, 300)).rejects.toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 1200)); // longer than a probe
    expect(runtime.pids()).toEqual([pid]);
    expect(runaways).toEqual([]);
    expect(await runtime.abandonedVerdict(lastSignal!)).toBe("alive");
    expect(await ask(hello, 5000)).toBe("hello");
  });

  it("kills and restarts a process whose function spins past its deadline", async () => {
    const [pid] = runtime.pids();
    await expect(ask(spins, 300)).rejects.toBeDefined();
    expect(await runtime.abandonedVerdict(lastSignal!)).toBe("runaway");
    const ms = await until(() => runtime.status().ready === 1 && runtime.pids()[0] !== pid && runtime.pids().length === 1, 10_000);
    console.log(`spinning process replaced ${ms} ms after its request was abandoned`);
    expect(runaways).toEqual([`t1:dep-1:${artifacts.add(spins)}:v1`]);
    expect(await ask(hello, 5000)).toBe("hello");
  });
});

describe("WorkerdRuntime watchdog with neighbours", () => {
  const artifacts = new MemoryArtifacts();
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, processes: 2, probeTimeoutMs: 500 }));
  });
  afterAll(async () => {
    await stop?.();
  });

  it("keeps another tenant's requests answering while a spinning function is contained", async () => {
    const helloHash = artifacts.add(hello);
    const digestHash = artifacts.add(digest);
    const spinHash = artifacts.add(spins);
    let turn = 0;
    // Every other neighbour request carries a 200 KB body, which a retry must send again whole.
    const neighbour = async () => {
      if (turn++ % 2 === 0) {
        const res = await runtime.invoke(runtimeRequest("tenant-b", helloHash, "/", { signal: AbortSignal.timeout(10_000) }));
        return (await text(res.body)) === "hello";
      }
      const body = generatedBody(200 * 1024);
      const res = await runtime.invoke(
        runtimeRequest("tenant-c", digestHash, "/", { method: "POST", body: body.stream, signal: AbortSignal.timeout(10_000) }),
      );
      return (await text(res.body)) === body.digest();
    };
    await neighbour(); // loaded and warm
    const results: boolean[] = [];
    let running = true;
    const load = Array.from({ length: 4 }, async () => {
      while (running) results.push(await neighbour().catch(() => false));
    });
    const pidsBefore = runtime.pids();
    await expect(
      runtime.invoke(runtimeRequest("tenant-a", spinHash, "/", { signal: AbortSignal.timeout(1000) })).then((r) => text(r.body)),
    ).rejects.toBeDefined();
    await until(() => runtime.pids().some((pid) => !pidsBefore.includes(pid)), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    running = false;
    await Promise.all(load);
    const ok = results.filter(Boolean).length;
    console.log(`neighbour requests during the event: ${ok}/${results.length} answered`);
    expect(results.length).toBeGreaterThan(20);
    // Requests caught on the killed process are retried on the other one (they
    // got no response byte; bodies are sent again whole), so none fails;
    // without the retry a few do (2 of 3 379 in one run).
    expect(ok).toBe(results.length);
  });

  it("sends new requests away from a process whose event loop a spinning request blocks, long before its deadline", async () => {
    const helloHash = artifacts.add(hello);
    const spinHash = artifacts.add(`${spins} // early warning`);
    let spinSettled = false;
    const spin = runtime
      .invoke(runtimeRequest("tenant-a", spinHash, "/", { signal: AbortSignal.timeout(4000) }))
      .then((r) => text(r.body))
      .catch(() => undefined)
      .finally(() => (spinSettled = true));
    const pool = (runtime as unknown as { processes: Array<{ stalled: boolean }> }).processes;
    await until(() => pool.some((p) => p.stalled), 3000);
    // Every neighbour request from now on (4 callers at once, so the spinning process is
    // often the least loaded) is answered while the spinning one still holds its process.
    const answers = await Promise.all(
      Array.from({ length: 4 }, async (_, caller) => {
        const seen: string[] = [];
        for (let i = 0; i < 10; i++) {
          const res = await runtime.invoke(runtimeRequest("tenant-b", helloHash, `/${caller}/${i}`, { signal: AbortSignal.timeout(10_000) }));
          seen.push(await text(res.body));
        }
        return seen;
      }),
    );
    expect(answers.flat()).toEqual(Array<string>(40).fill("hello"));
    expect(spinSettled).toBe(false);
    await spin;
  });
});
