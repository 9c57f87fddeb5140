import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

interface Timed {
  status: number;
  code: string | undefined;
  ms: number;
}

/** Calls a URL and reports status, Isle error code and how long the answer took. */
async function timed(url: string): Promise<Timed> {
  const started = Date.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, ms: Date.now() - started };
}

/**
 * Runs `event` while `callers` loops call `target`; the event's result and
 * every status the loops saw until it settled (0: no answer at all).
 */
async function loadDuring<T>(target: string, callers: number, event: () => Promise<T>): Promise<{ result: T; statuses: number[] }> {
  const statuses: number[] = [];
  let settled = false;
  const loops = Array.from({ length: callers }, async () => {
    while (!settled) {
      const answer = await timed(target).catch(() => ({ status: 0, code: "no answer" }));
      statuses.push(answer.status);
      if (answer.status !== 200) console.log(`neighbour got ${answer.status} ${answer.code ?? ""}`);
    }
  });
  try {
    return { result: await event(), statuses };
  } finally {
    settled = true;
    await Promise.all(loops);
  }
}

/** At least `minShare` of 200s, and enough of them to mean something. */
function expectServed(statuses: number[], minShare: number): void {
  const ok = statuses.filter((s) => s === 200).length;
  const others = statuses.filter((s) => s !== 200);
  console.log(`neighbour during the event: ${ok}/${statuses.length} answered 200${others.length ? `; others: ${others.join(", ")}` : ""}`);
  expect(statuses.length).toBeGreaterThan(20);
  expect(ok / statuses.length).toBeGreaterThanOrEqual(minShare);
}

// A part dying must turn into a prompt 502/503, never a hang, and the platform
// must serve again once the part is back.
describe("failures along the invoke path", () => {
  let stack: Stack;
  const url = (path: string) => `${stack.baseUrl}${path}`;

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL, workerdProcesses: 2 });
    await stack.createTenant("acme");
    await stack.createTenant("neighbour");
    for (const name of ["hello", "slow"]) await stack.deployPublic("acme", name, fixture(name));
    await stack.deployPublic("neighbour", "hello", fixture("hello"));
    expect((await timed(url("/fn/acme/hello"))).status).toBe(200);
    expect((await timed(url("/fn/neighbour/hello"))).status).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers an in-flight request promptly when the agent is killed, then serves again once it is back", async () => {
    const inFlight = timed(url("/fn/acme/slow?ms=20000"));
    await new Promise((r) => setTimeout(r, 500));
    await stack.kill("agent");
    const cut = await inFlight;
    expect([502, 503]).toContain(cut.status);
    expect(cut.ms).toBeLessThan(10_000); // far inside the 30 s deadline
    expect(stack.workerdPids(), "workerd must die with its agent").toEqual([]);

    const whileDown = await timed(url("/fn/acme/hello"));
    expect(whileDown.status).toBe(503);
    expect(whileDown.code).toBe("unavailable");

    stack.restart("agent");
    await stack.waitReady();
    expect((await timed(url("/fn/acme/hello"))).status).toBe(200);
  });

  it("answers 502 when a workerd process dies under a request, and the agent restarts it", async () => {
    // Make both processes load the slow function, then kill every workerd process.
    const inFlight = [timed(url("/fn/acme/slow?ms=20000")), timed(url("/fn/acme/slow?ms=20000"))];
    await new Promise((r) => setTimeout(r, 1000));
    const before = stack.workerdPids();
    expect(before.length).toBe(2);
    for (const pid of before) process.kill(pid, "SIGKILL");
    for (const result of await Promise.all(inFlight)) {
      expect(result.status).toBe(502);
      expect(result.code).toBe("upstream_failed");
      expect(result.ms).toBeLessThan(10_000);
    }
    await waitUntil(async () => (await timed(url("/fn/acme/hello"))).status === 200, 15_000, "the pool to serve again");
    const after = stack.workerdPids();
    expect(after.length).toBe(2);
    expect(after.some((pid) => before.includes(pid))).toBe(false);
  });

  it("cannot reach the agent without its sidecar: the hop is on the path", async () => {
    await stack.kill("sidecar");
    const res = await timed(url("/fn/acme/hello"));
    expect(res.status).toBe(503);
    expect(res.ms).toBeLessThan(10_000);
    stack.restart("sidecar");
    await waitUntil(async () => (await timed(url("/fn/acme/hello"))).status === 200, 15_000, "the sidecar to serve again");
  });

  it("answers 504 when the function overruns its deadline", async () => {
    const put = await stack.operator("/v1/tenants/acme/functions/slow", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ limits: { timeoutMs: 1000 } }),
    });
    expect(put.status).toBe(200);
    const res = await timed(url("/fn/acme/slow?ms=5000"));
    expect(res.status).toBe(504);
    expect(res.code).toBe("timeout");
    expect(res.ms).toBeLessThan(4000);
  });

  it("answers a spinning function with 504 cpu_limit and replaces the process it stalled, while another tenant is served", async () => {
    await stack.deployPublic("acme", "spin", { "index.js": "export default { fetch() { while (true) {} } };" });
    await stack.configure("acme", "spin", { limits: { timeoutMs: 1000 } });
    const before = stack.workerdPids();
    const { result: res, statuses } = await loadDuring(url("/fn/neighbour/hello"), 4, async () => {
      const answer = await timed(url("/fn/acme/spin"));
      // The process that ran it is killed and restarted.
      await waitUntil(() => stack.workerdPids().some((pid) => !before.includes(pid)), 10_000, "the stuck process to be replaced");
      return answer;
    });
    expect(res.status).toBe(504);
    expect(res.code).toBe("cpu_limit");
    // Its 1 s budget, the 1 s liveness probe, and grace.
    expect(res.ms).toBeLessThan(4000);
    // Issue 4's bar: at least 99 % of another tenant's requests answered during a runaway.
    expectServed(statuses, 0.99);
    await waitUntil(async () => (await timed(url("/fn/acme/hello"))).status === 200, 15_000, "the pool to serve again");
  });

  it("quarantines a version that keeps stalling its runtime, until a new deploy", async () => {
    // The previous test gave "spin" its first strike; two more make three.
    for (let strike = 2; strike <= 3; strike++) {
      const before = stack.workerdPids();
      expect((await timed(url("/fn/acme/spin"))).status).toBe(504);
      await waitUntil(() => stack.workerdPids().some((pid) => !before.includes(pid)), 10_000, `strike ${strike}`);
      await waitUntil(async () => (await timed(url("/fn/acme/hello"))).status === 200, 15_000, "the pool to serve again");
    }
    const refused = await timed(url("/fn/acme/spin"));
    expect(refused.status).toBe(503);
    expect(refused.code).toBe("function_quarantined");
    expect(refused.ms).toBeLessThan(1000);

    const fixed = await stack.deploy("acme", "spin", { "index.js": "export default { fetch: () => new Response('fixed') };" });
    expect(fixed.status).toBe(201);
    const res = await fetch(url("/fn/acme/spin"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("fixed");
  });

  it("stops a memory-hungry function with memory_limit while others keep answering", async () => {
    await stack.deployPublic("acme", "hog", {
      "index.js": "export default { fetch() { const hoard = []; for (;;) hoard.push(new Array(1e6).fill(Math.random())); } };",
    });
    const { result: res, statuses } = await loadDuring(url("/fn/neighbour/hello"), 4, () => timed(url("/fn/acme/hog")));
    expect(res.status).toBe(502);
    expect(res.code).toBe("memory_limit");
    // Neighbours keep answering. (A bystander used to get memory_limit when the pool noticed the
    // kill before its connection broke; fixed, but the bar keeps a margin for a 2-core CI box.)
    expectServed(statuses, 0.95);
    await waitUntil(async () => (await timed(url("/fn/acme/hello"))).status === 200, 15_000, "the pool to serve again");
  });
});
