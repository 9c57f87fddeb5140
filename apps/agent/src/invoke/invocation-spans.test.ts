import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { createLogger, installContextManager, memoryTracing, tracingOff } from "@isle/telemetry";
import { Quarantine } from "../quarantine.js";
import { ServerChannel } from "./server-channel.js";
import { FakeRuntime, SentFrames, answer, testHead } from "./test-helpers.js";

const logger = createLogger({ service: "test", level: "silent" });
const sidecarParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const head = () =>
  testHead({}, { trace: { traceparent: sidecarParent, tracestate: "v=1" }, headers: [{ name: "traceparent", value: "00-11111111111111111111111111111111-2222222222222222-01" }] });

describe("ServerChannel spans", () => {
  let uninstall = () => {};
  afterAll(() => uninstall());

  it("nests the isolate call in the invocation under the sidecar's span; the function and its egress get the isolate call's context", async () => {
    const tracing = memoryTracing();
    const runtime = new FakeRuntime();
    runtime.handle = async () => ({ ...answer("ok"), coldStart: true });
    await new ServerChannel(head(), new SentFrames().send, logger, new Quarantine(), tracing).run(runtime);

    const spans = tracing.spans();
    const invocation = spans.find((s) => s.name === "agent invoke");
    const isolate = spans.find((s) => s.name === "workerd isolate call");
    expect(invocation?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(isolate?.parentSpanContext?.spanId).toBe(invocation?.spanContext().spanId);
    expect(isolate?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    for (const span of [invocation, isolate]) {
      expect(span?.attributes).toMatchObject({ "faas.invocation_id": "inv_1", "faas.version": "dep_1", "faas.coldstart": true, "isle.tenant": "acme", "faas.trigger": "http" });
    }
    const sent = runtime.requests[0]!;
    const expected = `00-0af7651916cd43dd8448eb211c80319c-${isolate?.spanContext().spanId}-01`;
    expect(sent.headers.filter(([name]) => name === "traceparent")).toEqual([["traceparent", expected]]);
    expect(sent.egress).toMatchObject({ traceparent: expected, tracestate: "v=1" });
  });

  it("marks both spans failed with the trailer's code", async () => {
    const tracing = memoryTracing();
    const runtime = new FakeRuntime();
    runtime.handle = async () => {
      throw new IsleError("function_error", "boom");
    };
    const sent = new SentFrames();
    await new ServerChannel(head(), sent.send, logger, new Quarantine(), tracing).run(runtime);
    expect(sent.trailer()?.errorCode).toBe("function_error");
    expect(tracing.spans().map((s) => s.status)).toEqual([
      { code: 2, message: "function_error" },
      { code: 2, message: "function_error" },
    ]);
  });

  it("puts the ids of the span it runs in on log lines: the isolate call's in the runtime, the invocation's around it", async () => {
    uninstall = installContextManager();
    const lines: Array<Record<string, string>> = [];
    const destination = new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, string>), done()) });
    const log = createLogger({ service: "agent", destination });
    const tracing = memoryTracing();
    const runtime = new FakeRuntime();
    runtime.handle = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.info("in the runtime");
      throw new Error("a bug");
    };
    await new ServerChannel(head(), new SentFrames().send, log, new Quarantine(), tracing).run(runtime);
    const invocation = tracing.spans().find((s) => s.name === "agent invoke")!;
    const isolate = tracing.spans().find((s) => s.name === "workerd isolate call")!;
    const inRuntime = lines.find((l) => l.msg === "in the runtime");
    const failed = lines.find((l) => l.msg === "invoke failed");
    expect(inRuntime).toMatchObject({ trace_id: isolate.spanContext().traceId, span_id: isolate.spanContext().spanId });
    expect(failed).toMatchObject({ trace_id: invocation.spanContext().traceId, span_id: invocation.spanContext().spanId });
  });

  it("leaves the caller's trace context as it came when tracing is off", async () => {
    const runtime = new FakeRuntime();
    runtime.handle = async () => answer("ok");
    await new ServerChannel(head(), new SentFrames().send, logger, new Quarantine(), tracingOff).run(runtime);
    expect(runtime.requests[0]?.egress?.traceparent).toBe(sidecarParent);
    expect(runtime.requests[0]?.headers).toEqual([["traceparent", "00-11111111111111111111111111111111-2222222222222222-01"]]);
  });
});

describe("ServerChannel spans of a refused invocation", () => {
  it("has the invocation span only, failed, when the function never ran", async () => {
    const tracing = memoryTracing();
    const quarantine = new Quarantine();
    for (let i = 0; i < 3; i++) quarantine.strike("ten_1", "dep_1");
    const sent = new SentFrames();
    await new ServerChannel(head(), sent.send, logger, quarantine, tracing).run(new FakeRuntime());
    expect(sent.trailer()?.errorCode).toBe("function_quarantined");
    expect(tracing.spans().map((s) => [s.name, s.status.code])).toEqual([["agent invoke", 2]]);
  });
});
