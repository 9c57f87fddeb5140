import { describe, expect, it } from "vitest";
import { agentV1 } from "@isle/proto";
import { memoryTracing } from "@isle/telemetry";
import { ChannelSpans } from "./channel-spans.js";
import { frameCase, scanFrame } from "./frame-scan.js";

const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const encode = (frame: agentV1.InvokeFrame) => Buffer.from(agentV1.InvokeFrame.encode(frame).finish());

function headFrame(channel: number): Buffer {
  const head = agentV1.RequestHead.fromPartial({
    invocationId: `inv_${channel}`,
    trigger: "http",
    function: { tenantName: "acme", functionName: "hello", deploymentId: "dep_1", tenantId: "t1", functionId: "f1", artifactHash: "h" },
    trace: { traceparent: parent, tracestate: "v=1" },
    callToken: "signed-token",
    headers: [{ name: "x", value: "y" }],
  });
  return encode({ channel, frame: { $case: "requestHead", value: head } });
}

describe("scanFrame on the frames ChannelSpans reads", () => {
  it("tells heads, bodies and trailers apart and finds the channel, in either field order", () => {
    expect(scanFrame(headFrame(7))).toMatchObject({ kind: frameCase.requestHead, channel: 7 });
    const body = encode({ channel: 300, frame: { $case: "body", value: Buffer.alloc(100_000, 1) } });
    expect(scanFrame(body)).toMatchObject({ kind: frameCase.body, channel: 300 });
    // channel after the oneof: tag 0x22 (trailer, empty) then tag 0x50 (channel 5)
    expect(scanFrame(Buffer.from([0x22, 0x00, 0x50, 0x05]))).toMatchObject({ kind: frameCase.trailer, channel: 5 });
    expect(scanFrame(Buffer.from([0x0a, 0x10]))).toBeUndefined();
  });
});

describe("ChannelSpans", () => {
  it("makes a span per channel under the gateway's, and hands its own context on in the head", () => {
    const tracing = memoryTracing();
    const spans = new ChannelSpans(tracing.tracer);
    const out = agentV1.InvokeFrame.decode(spans.onRequest(headFrame(1)));
    const body = encode({ channel: 1, frame: { $case: "body", value: Buffer.from("abc") } });
    expect(spans.onRequest(body)).toBe(body);
    spans.onResponse(encode({ channel: 1, frame: { $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ status: 200, headers: [], coldStart: true }) } }));
    expect(tracing.spans()).toHaveLength(0);
    spans.onResponse(encode({ channel: 1, frame: { $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 0, errorCode: "", errorMessage: "" }) } }));

    const [span] = tracing.spans();
    expect(span?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(span?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(span?.attributes).toMatchObject({ "faas.invocation_id": "inv_1", "faas.name": "hello", "faas.coldstart": true, "isle.tenant": "acme" });
    const head = out.frame?.$case === "requestHead" ? out.frame.value : undefined;
    expect(head?.trace?.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${span?.spanContext().spanId}-01`);
    expect(head?.callToken).toBe("signed-token");
    expect(head?.headers).toEqual([{ name: "x", value: "y" }]);
  });

  it("ends the span at a whole-answer response head, with its status and cold start", () => {
    const tracing = memoryTracing();
    const spans = new ChannelSpans(tracing.tracer);
    spans.onRequest(headFrame(1));
    spans.onRequest(headFrame(2));
    const whole = (channel: number, status: number) =>
      encode({ channel, frame: { $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ status, coldStart: true, body: Buffer.from("hi"), trailer: { wallMs: 1 } }) } });
    spans.onResponse(whole(1, 200));
    expect(tracing.spans()).toHaveLength(1);
    spans.onResponse(whole(2, 500));
    // A trailer after it (there is none in practice) ends nothing twice.
    spans.onResponse(encode({ channel: 1, frame: { $case: "trailer", value: agentV1.Trailer.fromPartial({ errorCode: "timeout" }) } }));
    spans.endAll("the invoke stream closed");
    expect(tracing.spans()).toHaveLength(2);
    const byId = new Map(tracing.spans().map((s) => [s.attributes["faas.invocation_id"], s]));
    expect(byId.get("inv_1")?.attributes).toMatchObject({ "http.response.status_code": 200, "faas.coldstart": true });
    expect(byId.get("inv_1")?.status).toEqual({ code: 0 });
    expect(byId.get("inv_2")?.attributes).toMatchObject({ "http.response.status_code": 500 });
  });

  it("marks trailers with an error code and channels cut by the stream's end as failed", () => {
    const tracing = memoryTracing();
    const spans = new ChannelSpans(tracing.tracer);
    spans.onRequest(headFrame(1));
    spans.onRequest(headFrame(2));
    spans.onResponse(encode({ channel: 1, frame: { $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 0, errorCode: "timeout", errorMessage: "late" }) } }));
    spans.onRequest(headFrame(3));
    spans.onResponse(encode({ channel: 3, frame: { $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 0, cpuMs: 0, errorCode: "concurrency_limit", errorMessage: "busy" }) } }));
    spans.endAll("the invoke stream closed");
    const byId = new Map(tracing.spans().map((s) => [s.attributes["faas.invocation_id"], s.status]));
    expect(byId.get("inv_1")).toEqual({ code: 2, message: "timeout" });
    expect(byId.get("inv_2")).toEqual({ code: 2, message: "the invoke stream closed" });
    // A 429 is the caller's to handle, not a server error.
    expect(byId.get("inv_3")).toEqual({ code: 0 });
  });
});
