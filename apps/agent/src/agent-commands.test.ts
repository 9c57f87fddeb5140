import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { agentV1, grpcChannelOptions, type controlV1 } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { AgentCommands, type PrewarmTarget } from "./agent-commands.js";
import { FakeRuntime } from "./invoke/test-helpers.js";
import { createAgentServer, createAgentState, untilIdle } from "./server.js";
import type { IsolateSource } from "./runtimes/runtime.js";

const logger = createLogger({ service: "test", level: "silent" });
const settle = () => new Promise((r) => setTimeout(r, 10));

/** A FakeRuntime that can prewarm: it remembers the isolates it loaded. */
class PrewarmingRuntime extends FakeRuntime {
  readonly warm = new Set<string>();
  prewarmFailure: IsleError | undefined;
  async prewarm(isolate: IsolateSource): Promise<{ coldStart: boolean }> {
    if (this.prewarmFailure) throw this.prewarmFailure;
    const coldStart = !this.warm.has(isolate.isolateId);
    this.warm.add(isolate.isolateId);
    return { coldStart };
  }
}

const target = (deploymentId = "dep_1", envRef = "ten_1:fn_1:v1"): PrewarmTarget => ({
  tenantId: "ten_1",
  functionId: "fn_1",
  deploymentId,
  artifactHash: "a".repeat(64),
  envRef,
});

function setUp() {
  const runtime = new PrewarmingRuntime();
  const state = createAgentState();
  const drainChanges: boolean[] = [];
  const commands = new AgentCommands({ runtime, state, logger, onDrainChange: (draining) => drainChanges.push(draining) });
  return { runtime, state, commands, drainChanges };
}

describe("AgentCommands", () => {
  it("prewarms: loads the isolate once and lists the deployment as loaded with nothing in flight", async () => {
    const { runtime, state, commands } = setUp();
    expect(await commands.prewarm(target())).toEqual({ coldStart: true });
    expect(await commands.prewarm(target())).toEqual({ coldStart: false });
    expect([...runtime.warm]).toEqual([`ten_1:dep_1:${"a".repeat(64)}:v1`]);
    expect(state.loaded.report()).toEqual([{ tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_1", inFlight: 0 }]);
  });

  it("prewarms with the function's current env when the target names none", async () => {
    const runtime = new PrewarmingRuntime();
    const state = createAgentState();
    const asked: string[] = [];
    const currentEnvRef = async (tenantId: string, functionId: string) => (asked.push(functionId), `${tenantId}:${functionId}:v9`);
    const commands = new AgentCommands({ runtime, state, logger, currentEnvRef });
    await commands.prewarm(target("dep_1", ""));
    expect(asked).toEqual(["fn_1"]);
    expect([...runtime.warm]).toEqual([`ten_1:dep_1:${"a".repeat(64)}:v9`]);
    // Without a way to learn it, an empty reference is refused like a wrong one.
    await expect(setUp().commands.prewarm(target("dep_1", ""))).rejects.toMatchObject({ code: "bad_request" });
  });

  it("refuses to prewarm a target whose env is another function's, while draining, or when quarantined; lists nothing", async () => {
    const { runtime, state, commands } = setUp();
    await expect(commands.prewarm(target("dep_1", "ten_2:fn_1:v1"))).rejects.toMatchObject({ code: "bad_request" });
    state.draining = true;
    await expect(commands.prewarm(target())).rejects.toMatchObject({ code: "unavailable" });
    state.draining = false;
    for (let i = 0; i < 3; i++) state.quarantine.strike("ten_1", "dep_q");
    await expect(commands.prewarm(target("dep_q"))).rejects.toMatchObject({ code: "function_quarantined" });
    runtime.prewarmFailure = new IsleError("upstream_failed", "no code");
    await expect(commands.prewarm(target())).rejects.toMatchObject({ code: "upstream_failed" });
    expect(state.loaded.report()).toEqual([]);
    expect(runtime.warm.size).toBe(0);
  });

  it("evicts: the deployment leaves the reports once its invocations end", async () => {
    const { state, commands } = setUp();
    await commands.prewarm(target("dep_1"));
    await commands.prewarm(target("dep_2"));
    const end = state.loaded.begin({ tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_2" }, {
      isolateId: "i",
      artifactHash: "a".repeat(64),
      envRef: "ten_1:fn_1:v1",
    });
    expect(commands.evict(target("dep_1"))).toBe(1);
    expect(commands.evict(target("dep_2"))).toBe(2);
    expect(state.loaded.report().map((f) => [f.deploymentId, f.inFlight])).toEqual([["dep_2", 1]]);
    end();
    expect(state.loaded.report()).toEqual([]);
    expect(commands.evict(target("dep_3"))).toBe(0);
  });

  it("drains and resumes, telling the reports only when the state changes", () => {
    const { state, commands, drainChanges } = setUp();
    state.inFlight.count = 2;
    expect(commands.drain(false)).toBe(2);
    expect(commands.drain(false)).toBe(2);
    expect(state.draining).toBe(true);
    commands.drain(true);
    expect(state.draining).toBe(false);
    expect(drainChanges).toEqual([true, false]);
  });

  it("runs the commands of the Register stream", async () => {
    const { runtime, state, commands } = setUp();
    const send = (command: controlV1.ControlCommand["command"]) => commands.handle({ command }, "gw-1:7070");
    send({ $case: "prewarm", value: target() });
    await settle();
    expect(runtime.warm.size).toBe(1);
    expect(state.loaded.report()).toHaveLength(1);
    send({ $case: "drain", value: { resume: false } });
    expect(state.draining).toBe(true);
    send({ $case: "evict", value: target() });
    expect(state.loaded.report()).toEqual([]);
    send({ $case: "drain", value: { resume: true } });
    expect(state.draining).toBe(false);
    send({ $case: "registered", value: { heartbeatIntervalMs: 1000 } });
    // A failing prewarm is logged, never thrown at the stream.
    runtime.prewarmFailure = new IsleError("upstream_failed", "no code");
    send({ $case: "prewarm", value: target("dep_9") });
    await settle();
    expect(state.loaded.report()).toEqual([]);
  });
});

describe("untilIdle", () => {
  it("resolves true once nothing is in flight, false at the bound", async () => {
    const state = { inFlight: { count: 0 } };
    expect(await untilIdle(state, 0)).toBe(true);
    state.inFlight.count = 1;
    setTimeout(() => (state.inFlight.count = 0), 30);
    expect(await untilIdle(state, 1000)).toBe(true);
    state.inFlight.count = 1;
    const started = Date.now();
    expect(await untilIdle(state, 60)).toBe(false);
    expect(Date.now() - started).toBeLessThan(200);
  });
});

// The same operations through the Agent service, as a gateway calls them via the sidecar.
describe("Agent service: Prewarm, Evict, Drain, Status (real gRPC on a Unix socket)", () => {
  const dir = mkdtempSync(join(tmpdir(), "isle-agent-rpc-"));
  const socket = join(dir, "agent.sock");
  const runtime = new PrewarmingRuntime();
  const state = createAgentState();
  const server = createAgentServer({ agentId: "node-1", runtime, state, logger });
  let client: agentV1.AgentClient;

  beforeAll(async () => {
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    client = new agentV1.AgentClient(`unix:${socket}`, grpc.credentials.createInsecure(), grpcChannelOptions);
  });
  afterAll(() => {
    client?.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const unary = <Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req) =>
    new Promise<Res>((resolve, reject) => method.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
  const fn = agentV1.FunctionRef.fromPartial({ tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_1", artifactHash: "a".repeat(64) });

  it("prewarms, reports the isolate, evicts it, and maps refusals to gRPC statuses", async () => {
    expect(await unary(client.prewarm, { function: fn, envRef: "ten_1:fn_1:v1" })).toEqual({ coldStart: true });
    expect(await unary(client.status, {})).toMatchObject({ agentId: "node-1", loadedIsolates: 1, draining: false });
    await expect(unary(client.prewarm, { function: fn, envRef: "ten_1:fn_2:v1" })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(unary(client.prewarm, { function: undefined, envRef: "" })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(await unary(client.evict, { function: fn })).toEqual({ evicted: 1 });
    expect(await unary(client.status, {})).toMatchObject({ loadedIsolates: 0 });
  });

  it("drains (new invocations refused, draining in Status) and resumes", async () => {
    expect(await unary(client.drain, { resume: false })).toEqual({ inFlight: 0 });
    expect(await unary(client.status, {})).toMatchObject({ draining: true });
    await expect(unary(client.prewarm, { function: fn, envRef: "ten_1:fn_1:v1" })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await unary(client.drain, { resume: true });
    expect(state.draining).toBe(false);
  });
});
