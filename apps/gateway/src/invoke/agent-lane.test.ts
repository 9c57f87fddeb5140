import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { IsleError } from "@isle/errors";
import { agentV1 } from "@isle/proto";
import { AgentLane } from "./agent-lane.js";
import { ClientChannel } from "./client-channel.js";

/** Stands in for the gRPC stream: records what the lane writes, lets the test answer. */
class FakeCall extends EventEmitter {
  written: agentV1.InvokeFrame[] = [];
  writableEnded = false;
  cancelled = false;
  write(frame: agentV1.InvokeFrame): boolean {
    this.written.push(frame);
    return true;
  }
  cancel(): void {
    this.cancelled = true;
  }
  answer(channel: number, frame: agentV1.InvokeFrame["frame"]): void {
    this.emit("data", { channel, frame });
  }
}

function head(overrides: Partial<agentV1.RequestHead> = {}): agentV1.RequestHead {
  return agentV1.RequestHead.fromPartial({ invocationId: "inv_1", method: "GET", path: "/", deadlineUnixMs: Date.now() + 30_000, initialWindow: 1024, ...overrides });
}

const ok = { $case: "trailer" as const, value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 0 }) };
const responseHead = { $case: "responseHead" as const, value: agentV1.ResponseHead.fromPartial({ status: 200, headers: [{ name: "x-a", value: "1" }], coldStart: true }) };
const wholeAnswer = (body: string, trailer: Partial<agentV1.Trailer> = {}) => ({
  $case: "responseHead" as const,
  value: agentV1.ResponseHead.fromPartial({ status: 201, headers: [{ name: "x-a", value: "1" }], coldStart: true, body: Buffer.from(body), trailer }),
});

function setup(onLateLogs?: (late: agentV1.LateLogs) => void) {
  const calls: FakeCall[] = [];
  const lane = new AgentLane(() => {
    const call = new FakeCall();
    calls.push(call);
    return call as never;
  }, onLateLogs);
  return { lane, calls };
}

describe("AgentLane", () => {
  it("carries invocations on separate channels of one stream", async () => {
    const { lane, calls } = setup();
    const a = lane.start(head(), null);
    const b = lane.start(head(), null);
    expect(calls).toHaveLength(1);
    const [first, second] = calls[0]!.written.map((f) => f.channel);
    expect(first).not.toBe(second);
    calls[0]!.answer(second!, responseHead);
    calls[0]!.answer(second!, { $case: "body", value: Buffer.from("bee") });
    calls[0]!.answer(second!, ok);
    const res = (await b.response).response;
    expect(await res.text()).toBe("bee");
    expect(res.headers.get("x-a")).toBe("1");
    expect(lane.openChannels).toBe(1);
    a.cancel(new IsleError("upstream_failed", "test"));
    expect(calls[0]!.written.at(-1)?.frame?.$case).toBe("cancel");
  });

  it("streams a body that arrives over several turns", async () => {
    const { lane, calls } = setup();
    const channel = lane.start(head(), null);
    const call = calls[0]!;
    const id = call.written[0]!.channel;
    call.answer(id, responseHead);
    call.answer(id, { $case: "body", value: Buffer.from("one ") });
    const { response } = await channel.response;
    call.answer(id, { $case: "body", value: Buffer.from("two") });
    call.answer(id, ok);
    expect(await response.text()).toBe("one two");
  });

  it("fails every open invocation at once when the stream breaks, and opens a new stream after", async () => {
    const { lane, calls } = setup();
    const a = lane.start(head(), null);
    const b = lane.start(head(), null);
    calls[0]!.emit("error", { code: 14, details: "connection refused" });
    await expect(a.response).rejects.toMatchObject({ code: "unavailable" });
    await expect(b.response).rejects.toMatchObject({ code: "unavailable" });
    lane.start(head(), null);
    expect(calls).toHaveLength(2);
  });

  it("turns an error trailer before the head into that error", async () => {
    const { lane, calls } = setup();
    const channel = lane.start(head(), null);
    const id = calls[0]!.written[0]!.channel;
    calls[0]!.answer(id, { $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 0, errorCode: "function_error", errorMessage: "threw" }) });
    await expect(channel.response).rejects.toMatchObject({ code: "function_error" });
  });

  it("errors the body when the stream breaks after the head", async () => {
    const { lane, calls } = setup();
    const channel = lane.start(head(), null);
    const id = calls[0]!.written[0]!.channel;
    calls[0]!.answer(id, responseHead);
    calls[0]!.answer(id, { $case: "body", value: Buffer.from("partial") });
    const { response } = await channel.response;
    calls[0]!.emit("error", { code: 13, details: "boom" });
    await expect(response.text()).rejects.toBeDefined();
  });

  it("sends a request body only as the agent's window allows", async () => {
    const { lane, calls } = setup();
    const body = (async function* () {
      for (let i = 0; i < 4; i++) yield new Uint8Array(1024);
    })();
    lane.start(head({ method: "POST", hasBody: true, initialWindow: 2048 }), body);
    await new Promise((r) => setTimeout(r, 10));
    const call = calls[0]!;
    const bodyBytes = () => call.written.filter((f) => f.frame?.$case === "body").reduce((n, f) => n + (f.frame!.value as Buffer).length, 0);
    expect(bodyBytes()).toBe(2048);
    call.answer(call.written[0]!.channel, { $case: "windowUpdate", value: { bytes: 2048 } });
    await new Promise((r) => setTimeout(r, 10));
    expect(bodyBytes()).toBe(4096);
    expect(call.written.at(-1)?.frame?.$case).toBe("endOfBody");
  });

  it("hands the trailer's output to the invocation before it settles, failed or not", async () => {
    const { lane, calls } = setup();
    const line = { unixMs: 1, level: "log", message: "a\nb" };
    const seen: string[] = [];
    const answered = lane.start(head(), null, (lines) => seen.push(`answered: ${lines.map((l) => l.message).join()}`));
    const failed = lane.start(head(), null, (lines) => seen.push(`failed: ${lines.map((l) => l.message).join()}`));
    const [first, second] = calls[0]!.written.map((f) => f.channel);
    calls[0]!.answer(first!, responseHead);
    calls[0]!.answer(first!, { $case: "trailer", value: agentV1.Trailer.fromPartial({ logs: [line] }) });
    calls[0]!.answer(second!, { $case: "trailer", value: agentV1.Trailer.fromPartial({ errorCode: "function_error", logs: [line] }) });
    expect(seen).toEqual(["answered: a\nb", "failed: a\nb"]);
    await answered.closed;
    await expect(failed.response).rejects.toMatchObject({ code: "function_error" });
  });

  it("answers a whole-answer head in one buffer: response, output and outcome as a clean trailer would", async () => {
    const respondWhole = vi.spyOn(ClientChannel.prototype as unknown as { respondWhole: () => void }, "respondWhole");
    const { lane, calls } = setup();
    const seen: string[] = [];
    const channel = lane.start(head(), null, (lines) => seen.push(...lines.map((l) => l.message)));
    const id = calls[0]!.written[0]!.channel;
    calls[0]!.answer(id, wholeAnswer("hello world", { wallMs: 2, logs: [{ unixMs: 1, level: "log", message: "hi" }] }));
    // Over at once: no body frame or trailer will come.
    expect(lane.openChannels).toBe(0);
    expect(seen).toEqual(["hi"]);
    expect(respondWhole).toHaveBeenCalledTimes(1);
    respondWhole.mockRestore();
    const { response, coldStart } = await channel.response;
    expect(coldStart).toBe(true);
    expect(response.status).toBe(201);
    expect(response.headers.get("x-a")).toBe("1");
    expect(await response.text()).toBe("hello world");
    expect(await channel.closed).toEqual({ errorCode: undefined, fault: undefined });
    // Strays after it change nothing.
    calls[0]!.answer(id, { $case: "body", value: Buffer.from("more") });
    calls[0]!.answer(id, ok);
    expect(seen).toEqual(["hi"]);
  });

  it("gives a whole answer to a HEAD request, or with a no-body status, no body", async () => {
    const { lane, calls } = setup();
    const channel = lane.start(head({ method: "HEAD" }), null);
    calls[0]!.answer(calls[0]!.written[0]!.channel, wholeAnswer(""));
    const { response } = await channel.response;
    expect(response.body).toBeNull();
  });

  it("hands output that came after an invocation ended (channel 0) to the lane's listener", () => {
    const late: agentV1.LateLogs[] = [];
    const { lane, calls } = setup((value) => late.push(value));
    const channel = lane.start(head(), null);
    const value = agentV1.LateLogs.fromPartial({ invocationId: "inv_1", tenantId: "ten_1", functionId: "fn_1", logs: [{ unixMs: 1, level: "log", message: "late" }] });
    calls[0]!.answer(0, { $case: "lateLogs", value });
    expect(late).toEqual([value]);
    expect(lane.openChannels).toBe(1);
    void channel;
  });
});
