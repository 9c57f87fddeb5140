import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryArtifacts, MemoryEnv, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRuntime } from "./workerd-runtime.js";

// A prewarm must load the isolate without calling its handler.
const counter = `let calls = 0;
export default { fetch(req, env) { calls++; return Response.json({ calls, greeting: env.GREETING ?? null }) } }`;

describe("WorkerdRuntime.prewarm (real workerd)", () => {
  const artifacts = new MemoryArtifacts();
  const env = new MemoryEnv();
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, env, processes: 2 }));
  });
  afterAll(async () => {
    await stop?.();
  });

  const source = (request: ReturnType<typeof runtimeRequest>) => ({
    isolateId: request.isolateId,
    artifactHash: request.artifactHash,
    envRef: request.envRef,
  });

  it("loads the isolate with its env without calling the function, so the first invocation is warm", async () => {
    const hash = artifacts.add(counter);
    env.byRef.set("pw-1:fn-1:v1", { GREETING: "hello" });
    const request = runtimeRequest("pw-1", hash, "/");
    expect(await runtime.prewarm(source(request), 5000)).toEqual({ coldStart: true });
    expect(await runtime.prewarm(source(request), 5000)).toEqual({ coldStart: false });

    const first = await runtime.invoke(request);
    expect(first.coldStart).toBe(false);
    expect(JSON.parse(await text(first.body))).toEqual({ calls: 1, greeting: "hello" });
  });

  it("fails with upstream_failed when the code cannot be fetched, and function_error when its modules throw", async () => {
    const missing = artifacts.hashOf("export default { fetch() { return new Response('never') } }").hash;
    await expect(runtime.prewarm(source(runtimeRequest("pw-2", missing, "/")), 5000)).rejects.toMatchObject({ code: "upstream_failed" });

    const throws = artifacts.add(`throw new Error("broken at load"); export default {}`);
    await expect(runtime.prewarm(source(runtimeRequest("pw-3", throws, "/")), 5000)).rejects.toMatchObject({ code: "function_error" });
  });
});
