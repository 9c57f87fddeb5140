import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentV1 } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { AgentCommands } from "./agent-commands.js";
import { createInvokeHandler } from "./invoke/mux.js";
import { FakeCall, testHead } from "./invoke/test-helpers.js";
import { MemoryArtifacts, MemoryEnv, startTestRuntime } from "./runtimes/workerd/test-helpers.js";
import type { WorkerdRuntime } from "./runtimes/workerd/workerd-runtime.js";
import { createAgentState, type AgentState } from "./server.js";

const logger = createLogger({ service: "agent-test", level: "silent" });

// The whole agent path on real workerd: the control plane's prewarm makes
// the first invocation warm, and its evict takes the deployment out of the
// reports once nothing of it runs.
describe("prewarm and evict on real workerd", () => {
  const artifacts = new MemoryArtifacts();
  const env = new MemoryEnv();
  let runtime: WorkerdRuntime;
  let stop: () => Promise<void>;
  let state: AgentState;
  let commands: AgentCommands;
  let invoke: ReturnType<typeof createInvokeHandler>;

  beforeAll(async () => {
    ({ runtime, stop } = await startTestRuntime({ artifacts, env, processes: 2 }));
    state = createAgentState();
    commands = new AgentCommands({ runtime, state, logger });
    invoke = createInvokeHandler(runtime, state, logger);
  });
  afterAll(async () => {
    await stop?.();
  });

  /** Invokes the deployment once; resolves with the response head's cold-start flag and the trailer's error code. */
  async function call(deploymentId: string, artifactHash: string): Promise<{ coldStart: boolean | undefined; errorCode: string }> {
    const stream = new FakeCall();
    invoke(stream as never);
    const head = testHead({}, { hasBody: false, method: "GET" });
    head.function = { ...head.function!, deploymentId, artifactHash };
    stream.frame(1, { $case: "requestHead", value: head });
    for (let i = 0; i < 500 && !stream.written.some((f) => f.frame?.$case === "trailer"); i++) await new Promise((r) => setTimeout(r, 10));
    const responseHead = stream.written.find((f) => f.frame?.$case === "responseHead")?.frame;
    const trailer = stream.written.find((f) => f.frame?.$case === "trailer")?.frame;
    return {
      coldStart: responseHead?.$case === "responseHead" ? responseHead.value.coldStart : undefined,
      errorCode: trailer?.$case === "trailer" ? trailer.value.errorCode : "no trailer",
    };
  }

  const target = (deploymentId: string, artifactHash: string) => ({
    tenantId: "ten_1",
    functionId: "fn_1",
    deploymentId,
    artifactHash,
    envRef: "ten_1:fn_1:v1",
  });

  it("answers the first invocation after a prewarm warm, and lists the deployment from the prewarm on", async () => {
    const hash = artifacts.add(`export default { fetch() { return new Response("warm") } }`);
    expect(await call("dep_cold", hash)).toEqual({ coldStart: true, errorCode: "" });

    expect(await commands.prewarm(target("dep_warm", hash))).toEqual({ coldStart: true });
    expect(state.loaded.report()).toContainEqual({ tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_warm", inFlight: 0 });
    expect(await call("dep_warm", hash)).toEqual({ coldStart: false, errorCode: "" });
  });

  it("drops an evicted deployment from the reports, and lists it again when invoked later", async () => {
    const hash = artifacts.add(`export default { fetch() { return new Response("bye") } }`);
    await commands.prewarm(target("dep_evict", hash));
    expect(commands.evict(target("dep_evict", hash))).toBe(1);
    expect(state.loaded.report().map((f) => f.deploymentId)).not.toContain("dep_evict");

    expect((await call("dep_evict", hash)).errorCode).toBe("");
    expect(state.loaded.report()).toContainEqual({ tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_evict", inFlight: 0 });
  });
});
