import { describe, expect, it } from "vitest";
import { agentV1 } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { findField, frameCase, isWholeAnswer, scanFrame } from "./frame-scan.js";
import { TenantConcurrencyGate, TenantSlots } from "./limits.js";

const logger = createLogger({ service: "test", level: "silent" });
type Frame = agentV1.InvokeFrame["frame"];
const encode = (channel: number, frame: Frame) => Buffer.from(agentV1.InvokeFrame.encode({ channel, frame }).finish());
const head = (channel: number, tenantId: string, hasBody = false) =>
  encode(channel, {
    $case: "requestHead",
    value: agentV1.RequestHead.fromPartial({
      invocationId: `inv_${channel}`,
      function: { tenantId, functionId: "fn_1", deploymentId: "dep_1", tenantName: "t", functionName: "f" },
      hasBody,
      headers: [{ name: "x", value: "y".repeat(300) }],
    }),
  });
const trailer = (channel: number) => encode(channel, { $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 0, errorCode: "", errorMessage: "" }) });

function gate(limit: number, slots = new TenantSlots(limit)) {
  const answers: agentV1.InvokeFrame[] = [];
  return { slots, answers, gate: new TenantConcurrencyGate(slots, (frame) => answers.push(agentV1.InvokeFrame.decode(frame)), logger) };
}

describe("scanFrame", () => {
  it("reads channel and case of every kind of frame without decoding it", () => {
    const cases: Array<[Frame, number]> = [
      [{ $case: "body", value: Buffer.alloc(70_000, 7) }, frameCase.body],
      [{ $case: "endOfBody", value: {} }, frameCase.endOfBody],
      [{ $case: "windowUpdate", value: { bytes: 65536 } }, frameCase.windowUpdate],
      [{ $case: "cancel", value: { reason: "x" } }, frameCase.cancel],
      [{ $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 2, errorCode: "", errorMessage: "" }) }, frameCase.trailer],
    ];
    for (const [frame, kind] of cases) {
      for (const channel of [0, 1, 300, 2 ** 31, 0xffff_ffff]) expect(scanFrame(encode(channel, frame))).toMatchObject({ channel, kind });
    }
    const bytes = head(42, "ten_a");
    const top = scanFrame(bytes)!;
    expect(top).toMatchObject({ channel: 42, kind: frameCase.requestHead });
    expect(agentV1.RequestHead.decode(bytes.subarray(top.start, top.end)).function?.tenantId).toBe("ten_a");
  });

  it("says so for bytes that are not a frame", () => {
    expect(scanFrame(Buffer.from([0x12, 0x05, 1]))).toBeUndefined();
    expect(scanFrame(Buffer.from([0x50, 0xff]))).toBeUndefined();
    expect(scanFrame(Buffer.from([0x0d, 0, 0, 0, 0]))).toBeUndefined();
    expect(scanFrame(Buffer.from([0x50]))).toBeUndefined();
    // No bytes: no case at all, so never taken for a request head.
    expect(scanFrame(Buffer.from([]))).toMatchObject({ kind: 0 });
  });
});

describe("isWholeAnswer", () => {
  it("finds the trailer inside a response head by its tags, whatever the head's other fields hold", () => {
    const plain = encode(1, { $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ status: 200, body: Buffer.alloc(70_000, 0x2a) }) });
    const whole = encode(1, {
      $case: "responseHead",
      value: agentV1.ResponseHead.fromPartial({ status: 404, headers: [{ name: "x", value: "*".repeat(200) }], body: Buffer.alloc(70_000, 0x2a), trailer: { wallMs: 3 } }),
    });
    const emptyWhole = encode(1, { $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ trailer: {} }) });
    expect(isWholeAnswer(plain, scanFrame(plain)!)).toBe(false);
    expect(isWholeAnswer(whole, scanFrame(whole)!)).toBe(true);
    expect(isWholeAnswer(emptyWhole, scanFrame(emptyWhole)!)).toBe(true);
    const top = scanFrame(whole)!;
    const at = findField(whole, top.start, top.end, 5)!;
    expect(agentV1.Trailer.decode(whole.subarray(at.start, at.end)).wallMs).toBe(3);
    // Only response heads are whole answers.
    expect(isWholeAnswer(trailer(1), scanFrame(trailer(1))!)).toBe(false);
  });
});

describe("TenantConcurrencyGate", () => {
  it("refuses a tenant's invocation past its limit with a trailer on that channel, and forwards nothing of it", () => {
    const { gate: g, answers } = gate(2);
    expect(g.admit(head(1, "ten_a"))).toBe(true);
    expect(g.admit(head(2, "ten_a"))).toBe(true);
    expect(g.admit(head(3, "ten_a", true))).toBe(false);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ channel: 3, frame: { $case: "trailer", value: { errorCode: "tenant_concurrency_limit" } } });
    // The refused channel's body never reaches the agent; other channels' frames do.
    expect(g.admit(encode(3, { $case: "body", value: Buffer.from("abc") }))).toBe(false);
    expect(g.admit(encode(3, { $case: "endOfBody", value: {} }))).toBe(false);
    expect(g.admit(encode(1, { $case: "body", value: Buffer.from("abc") }))).toBe(true);
  });

  it("keeps tenants apart: one at its limit does not refuse another", () => {
    const { gate: g } = gate(1);
    expect(g.admit(head(1, "ten_flood"))).toBe(true);
    for (let c = 2; c < 50; c++) expect(g.admit(head(c, "ten_flood"))).toBe(false);
    expect(g.admit(head(50, "ten_quiet"))).toBe(true);
  });

  it("frees the slot when the agent's trailer for the channel passes back", () => {
    const { gate: g, slots } = gate(1);
    expect(g.admit(head(1, "ten_a"))).toBe(true);
    expect(g.admit(head(2, "ten_a"))).toBe(false);
    g.observeOutbound(encode(1, { $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ status: 200, headers: [], coldStart: false }) }));
    g.observeOutbound(encode(1, { $case: "body", value: Buffer.from("x") }));
    expect(slots.inFlight("ten_a")).toBe(1);
    g.observeOutbound(trailer(1));
    expect(slots.inFlight("ten_a")).toBe(0);
    // A stray second trailer frees nothing twice.
    g.observeOutbound(trailer(1));
    expect(g.admit(head(3, "ten_a"))).toBe(true);
    expect(slots.inFlight("ten_a")).toBe(1);
  });

  it("frees the slot when a whole-answer response head passes back, not for a plain head", () => {
    const { gate: g, slots } = gate(2);
    expect(g.admit(head(1, "ten_a"))).toBe(true);
    g.observeOutbound(encode(1, { $case: "responseHead", value: agentV1.ResponseHead.fromPartial({ status: 200, headers: [{ name: "a", value: "b" }], body: Buffer.from("hi") }) }));
    expect(slots.inFlight("ten_a")).toBe(1);
    expect(g.admit(head(2, "ten_a"))).toBe(true);
    expect(slots.inFlight("ten_a")).toBe(2);
    const whole = encode(2, {
      $case: "responseHead",
      value: agentV1.ResponseHead.fromPartial({ status: 200, headers: [{ name: "a", value: "b" }], coldStart: true, body: Buffer.from("hello"), trailer: { wallMs: 1 } }),
    });
    g.observeOutbound(whole);
    // Channel 2's slot is free; channel 1 still holds one until its trailer.
    expect(slots.inFlight("ten_a")).toBe(1);
    g.observeOutbound(trailer(1));
    expect(slots.inFlight("ten_a")).toBe(0);
    // A stray whole answer on a closed channel frees nothing twice.
    g.observeOutbound(whole);
    expect(g.admit(head(3, "ten_a"))).toBe(true);
    expect(slots.inFlight("ten_a")).toBe(1);
  });

  it("counts across streams on the node, and a stream's end frees what it held", () => {
    const slots = new TenantSlots(2);
    const a = gate(2, slots).gate;
    const b = gate(2, slots).gate;
    expect(a.admit(head(1, "ten_a"))).toBe(true);
    expect(b.admit(head(1, "ten_a"))).toBe(true);
    expect(b.admit(head(2, "ten_a"))).toBe(false);
    a.close();
    expect(slots.inFlight("ten_a")).toBe(1);
    expect(b.admit(head(3, "ten_a"))).toBe(true);
  });

  it("lets everything through with limit 0", () => {
    const { gate: g } = gate(0);
    for (let c = 1; c < 100; c++) expect(g.admit(head(c, "ten_a"))).toBe(true);
  });
});
