import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedBody, MemoryArtifacts, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRuntime } from "./workerd-runtime.js";

// Reads the whole body, then waits before it answers, so the test can kill its
// process once every body byte has left the runtime (and the runtime knows
// whether it kept them) but before any response byte came back.
const slowDigest = `export default { async fetch(req) {
  const hash = await crypto.subtle.digest("SHA-256", await req.arrayBuffer());
  await new Promise((r) => setTimeout(r, 1500));
  return new Response([...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join(""));
} };`;

/** The pid of the one process with a request in flight (test access to the pool). */
function busyPid(runtime: WorkerdRuntime): number | undefined {
  const pool = (runtime as unknown as { processes: Array<{ inFlight: number; pid?: number }> }).processes;
  return pool.find((p) => p.inFlight > 0)?.pid;
}

async function until<T>(value: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = value();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`nothing within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// A request whose workerd process dies before it answers is retried on
// another process, its body sent again whole — unless the body was too large to keep.
describe("WorkerdRuntime retry of requests with bodies", () => {
  const artifacts = new MemoryArtifacts();
  const hash = artifacts.add(slowDigest);
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, processes: 2, retryBodyBytes: 256 * 1024 }));
  });
  afterAll(async () => {
    await stop?.();
  });

  async function killMidRequest(bodyBytes: number): Promise<{ answer: Promise<string>; digest: () => string }> {
    const body = generatedBody(bodyBytes);
    const answer = runtime
      .invoke(runtimeRequest("t1", hash, "/", { method: "POST", body: body.stream, signal: AbortSignal.timeout(20_000) }))
      .then((res) => text(res.body));
    const pid = await until(() => busyPid(runtime), 5000);
    await until(() => (body.sent() >= bodyBytes ? true : undefined), 5000);
    // The last chunk was produced; give the runtime a moment to pass it on.
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(pid, "SIGKILL");
    return { answer, digest: body.digest };
  }

  it("sends a kept body again whole to another process", async () => {
    const { answer, digest } = await killMidRequest(200 * 1024);
    expect(await answer).toBe(digest());
  });

  it("fails a request whose body was too large to keep", async () => {
    const { answer } = await killMidRequest(1024 * 1024);
    await expect(answer).rejects.toMatchObject({ code: "upstream_failed" });
  });
});
