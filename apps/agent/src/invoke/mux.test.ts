import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { relayedWholeAnswersMetadata, wholeAnswersMetadata } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { createAgentState } from "../server.js";
import { createInvokeHandler } from "./mux.js";
import { FakeCall, FakeRuntime, answer, testHead, untilAborted } from "./test-helpers.js";

const logger = createLogger({ service: "test", level: "silent" });
const settle = () => new Promise((r) => setTimeout(r, 10));

function setUp() {
  const runtime = new FakeRuntime();
  const state = createAgentState();
  const call = new FakeCall();
  createInvokeHandler(runtime, state, logger)(call as never);
  const open = (channel: number, maxConcurrency: number, functionId = "fn_1") =>
    call.frame(channel, { $case: "requestHead", value: testHead({ maxConcurrency }, { hasBody: false }, functionId) });
  return { runtime, state, call, open };
}

describe("Invoke handler: per-function concurrency", () => {
  it("refuses the invocation past the limit at once with concurrency_limit; the allowed ones finish", async () => {
    const { runtime, call, open } = setUp();
    const answers: Array<() => void> = [];
    runtime.handle = () => new Promise((resolve) => answers.push(() => resolve(answer("ok"))));
    open(1, 2);
    open(2, 2);
    open(3, 2);
    await settle();
    expect(call.outcome(3)).toBe("concurrency_limit");
    expect(runtime.requests).toHaveLength(2);
    expect([call.outcome(1), call.outcome(2)]).toEqual([undefined, undefined]);
    for (const respond of answers) respond();
    await settle();
    expect([call.outcome(1), call.outcome(2)]).toEqual(["", ""]);
  });

  it("counts each function apart", async () => {
    const { runtime, call, open } = setUp();
    runtime.handle = untilAborted;
    open(1, 1, "fn_a");
    open(2, 1, "fn_b");
    await settle();
    expect(runtime.requests).toHaveLength(2);
    expect([call.outcome(1), call.outcome(2)]).toEqual([undefined, undefined]);
  });

  it("gives the slot back when the invocation answers, fails, is cancelled or times out", async () => {
    const { runtime, state, call, open } = setUp();
    runtime.handle = async () => answer("ok");
    open(1, 1);
    await settle();
    expect(call.outcome(1)).toBe("");

    runtime.handle = async () => Promise.reject(new Error("boom"));
    open(2, 1);
    await settle();
    expect(call.outcome(2)).toBe("internal");

    runtime.handle = untilAborted;
    open(3, 1);
    await settle();
    call.frame(3, { $case: "cancel", value: { reason: "client gone" } });
    await settle();
    expect(call.outcome(3)).toBe("upstream_failed");

    call.frame(4, { $case: "requestHead", value: testHead({ maxConcurrency: 1 }, { hasBody: false, deadlineUnixMs: Date.now() + 20 }) });
    await new Promise((r) => setTimeout(r, 60));
    expect(call.outcome(4)).toBe("timeout");

    // After each ending the one slot was free again: the next one ran.
    runtime.handle = async () => answer("ok");
    open(5, 1);
    await settle();
    expect(call.outcome(5)).toBe("");
    expect(state.concurrency.inFlight("ten_1:fn_1")).toBe(0);
  });

  it("frees every slot when the whole stream breaks", async () => {
    const { runtime, state, call, open } = setUp();
    runtime.handle = untilAborted;
    open(1, 2);
    open(2, 2);
    await settle();
    expect(state.concurrency.inFlight("ten_1:fn_1")).toBe(2);
    call.emit("cancelled");
    await settle();
    expect(state.concurrency.inFlight("ten_1:fn_1")).toBe(0);
    expect(state.inFlight.count).toBe(0);
  });
});

describe("Invoke handler: loaded deployments and their in-flight counts", () => {
  const loadedOf = (state: ReturnType<typeof setUp>["state"]) => state.loaded.report().map((f) => [f.functionId, f.deploymentId, f.inFlight]);

  it("counts an invocation in flight from its head to its trailer, whether it answers, fails, is cancelled or its stream breaks", async () => {
    const { runtime, state, call, open } = setUp();
    runtime.handle = untilAborted;
    open(1, 0, "fn_a");
    open(2, 0, "fn_a");
    open(3, 0, "fn_b");
    await settle();
    expect(loadedOf(state)).toEqual([["fn_a", "dep_1", 2], ["fn_b", "dep_1", 1]]);
    expect(state.inFlight.count).toBe(3);

    call.frame(1, { $case: "cancel", value: { reason: "client gone" } });
    await settle();
    expect(loadedOf(state)).toEqual([["fn_a", "dep_1", 1], ["fn_b", "dep_1", 1]]);

    call.emit("cancelled");
    await settle();
    expect(loadedOf(state)).toEqual([["fn_a", "dep_1", 0], ["fn_b", "dep_1", 0]]);

    const second = setUp();
    second.runtime.handle = async () => answer("ok");
    second.open(1, 0);
    second.runtime.handle = async () => Promise.reject(new IsleError("function_error", "boom"));
    second.open(2, 0);
    await settle();
    expect([second.call.outcome(1), second.call.outcome(2)]).toEqual(["", "function_error"]);
    expect(loadedOf(second.state)).toEqual([["fn_1", "dep_1", 0]]);
    expect(second.state.inFlight.count).toBe(0);
  });

  it("counts nothing for an invocation it refuses (draining, concurrency limit) or whose env reference is not its function's", async () => {
    const { runtime, state, call, open } = setUp();
    runtime.handle = untilAborted;
    open(1, 1);
    open(2, 1);
    call.frame(3, { $case: "requestHead", value: testHead({}, { hasBody: false, envRef: "ten_2:fn_1:v1" }) });
    await settle();
    expect([call.outcome(2), call.outcome(3)]).toEqual(["concurrency_limit", "bad_request"]);
    state.draining = true;
    open(4, 0, "fn_z");
    await settle();
    expect(call.outcome(4)).toBe("unavailable");
    expect(loadedOf(state)).toEqual([["fn_1", "dep_1", 1]]);
  });
});

describe("Invoke handler: the function's output", () => {
  const line = (message: string) => ({ unixMs: 1_700_000_000_000, level: "log", message });

  it("sends what was written before the answer ended in the trailer, and later output as LateLogs on channel 0", async () => {
    const { runtime, call, open } = setUp();
    runtime.handle = async (request) => {
      request.logs?.add([line("before the answer")], false);
      return answer("ok");
    };
    open(4, 0);
    await settle();
    const trailer = call.written.find((f) => f.channel === 4 && f.frame?.$case === "trailer");
    expect(trailer?.frame).toMatchObject({ $case: "trailer", value: { errorCode: "", logs: [line("before the answer")] } });

    runtime.requests[0]?.logs?.add([line("from waitUntil")], false);
    expect(call.written.at(-1)).toEqual({
      channel: 0,
      frame: { $case: "lateLogs", value: { invocationId: "inv_1", tenantId: "ten_1", functionId: "fn_1", logs: [line("from waitUntil")] } },
    });
  });

  it("sends the output of a failed invocation with its error", async () => {
    const { runtime, call, open } = setUp();
    runtime.handle = async (request) => {
      request.logs?.add([{ unixMs: 1, level: "exception", message: "Uncaught Error: boom" }], false);
      throw new IsleError("function_error", "the function failed to handle the request");
    };
    open(5, 0);
    await settle();
    const trailer = call.written.find((f) => f.channel === 5)?.frame;
    expect(trailer).toMatchObject({ $case: "trailer", value: { errorCode: "function_error", logs: [{ level: "exception", message: "Uncaught Error: boom" }] } });
  });

  it("sends the output as LateLogs when the caller gave up, since it will not read the trailer", async () => {
    const { runtime, call, open } = setUp();
    runtime.handle = (request) => {
      request.logs?.add([line("written before the caller left")], false);
      return untilAborted(request);
    };
    open(6, 0);
    await settle();
    call.frame(6, { $case: "cancel", value: { reason: "client gone" } });
    await settle();
    expect(call.written.find((f) => f.channel === 6)?.frame).toMatchObject({ $case: "trailer", value: { logs: [] } });
    expect(call.written.find((f) => f.channel === 0)?.frame).toMatchObject({
      $case: "lateLogs",
      value: { invocationId: "inv_1", logs: [line("written before the caller left")] },
    });
  });
});

describe("Invoke handler: whole answers", () => {
  const complete = async () => {
    const body = new PassThrough();
    body.end(Buffer.from("hello world"));
    await new Promise((r) => setImmediate(r));
    return { status: 200, headers: [] as Array<[string, string]>, body, coldStart: false };
  };

  it("sends a complete small answer as one frame on a stream its sidecar opened with the relayed whole-answers entry", async () => {
    const runtime = new FakeRuntime();
    runtime.handle = complete;
    const call = new FakeCall();
    call.metadata.set(relayedWholeAnswersMetadata.key, relayedWholeAnswersMetadata.value);
    createInvokeHandler(runtime, createAgentState(), logger)(call as never);
    call.frame(1, { $case: "requestHead", value: testHead({}, { hasBody: false }) });
    await settle();
    expect(call.written.map((f) => f.frame?.$case)).toEqual(["responseHead"]);
    const frame = call.written[0]?.frame;
    expect(frame?.$case === "responseHead" && frame.value.body.toString()).toBe("hello world");
    expect(call.outcome(1)).toBe("");
  });

  it("sends head, body and trailer on a stream opened without it, even with the gateway's own entry (an older sidecar passes that on)", async () => {
    const runtime = new FakeRuntime();
    runtime.handle = complete;
    const call = new FakeCall();
    call.metadata.set(wholeAnswersMetadata.key, wholeAnswersMetadata.value);
    createInvokeHandler(runtime, createAgentState(), logger)(call as never);
    call.frame(1, { $case: "requestHead", value: testHead({}, { hasBody: false }) });
    await settle();
    expect(call.written.map((f) => f.frame?.$case)).toEqual(["responseHead", "body", "trailer"]);
    expect(call.outcome(1)).toBe("");
  });
});
