import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { NewInvocation } from "@isle/db";
import { IsleError } from "@isle/errors";
import type { agentV1 } from "@isle/proto";
import type { Delivery, InvocationQueue } from "@isle/queue";
import { createLogger } from "@isle/telemetry";
import { gatewayMetrics } from "../app.js";
import { Membership } from "../control/membership.js";
import { CallTokens } from "../invoke/call-token.js";
import { OutlierDetector } from "../invoke/outlier-detector.js";
import type { Invoker } from "../invoke/sidecar-invoker.js";
import type { InvokeTarget } from "../invoke/target-resolver.js";
import { testTarget } from "../test-support/targets.js";
import type { AsyncPayload } from "./async-payload.js";
import type { CallbackResult, CallbackSender } from "./callback-sender.js";
import { AsyncDispatcher } from "./dispatcher.js";
import { LogFeed, type LogBatch } from "../logs/log-feed.js";
import { everyAgentIsAReplica, Placer } from "../scaling/placer.js";

const target = testTarget();

const payload: AsyncPayload = {
  tenantName: "acme",
  functionName: "hello",
  method: "POST",
  path: "/orders",
  query: "?x=1",
  host: "gw.example",
  headers: [["content-type", "text/plain"]],
  clientIp: "203.0.113.9",
  body: Buffer.from("order 42").toString("base64"),
  callbackUrl: "https://hooks.example/done",
  trace: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "" },
  acceptedAtMs: 0,
};

/** What the fake function writes on each attempt, as its trailer would bring it. */
const output: agentV1.LogLine[] = [];

/** A function that answers what `answer` says, remembering each request head and body. */
function fakeInvoker(answer: (head: agentV1.RequestHead) => Promise<Response> | Response) {
  const calls: Array<{ head: agentV1.RequestHead; body: string }> = [];
  const invoker: Invoker = {
    async invoke(_agent, { head, body, onLogs }) {
      let text = "";
      if (body) for await (const chunk of body) text += Buffer.from(chunk).toString();
      calls.push({ head, body: text });
      if (output.length > 0) onLogs?.(output.map((line) => ({ ...line, message: `${line.message} (attempt ${head.attempt})` })));
      const response = await answer(head);
      return { response, coldStart: false, outcome: Promise.resolve({ errorCode: response.status >= 500 ? "function_error" : undefined, fault: undefined }) };
    },
    close: () => undefined,
  };
  return { invoker, calls };
}

function setup(
  answer: Parameters<typeof fakeInvoker>[0],
  options: { agents?: number; extendEveryMs?: number; resolve?: InvokeTarget | undefined; logFeed?: LogFeed } = {},
) {
  const membership = new Membership();
  for (let i = 0; i < (options.agents ?? 1); i++) {
    membership.report({ agentId: `agent-${i}`, address: `agent-${i}:7443`, capacity: 10, inFlight: 0, draining: false, workerdReady: 2 } as never, {});
  }
  const outliers = new OutlierDetector();
  const records: NewInvocation[] = [];
  const callbacks: Array<{ url: string; result: CallbackResult }> = [];
  const { invoker, calls } = fakeInvoker(answer);
  const logger = createLogger({ service: "gateway", level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
  const dispatcher = new AsyncDispatcher({
    queue: {} as InvocationQueue,
    resolver: { resolve: async () => ("resolve" in options ? options.resolve : target), invalidate: () => undefined },
    placer: new Placer(membership, outliers, everyAgentIsAReplica),
    invoker,
    callTokens: new CallTokens(randomBytes(32)),
    saveRecord: async (row) => void records.push({ ...row }),
    metrics: gatewayMetrics(membership, outliers),
    callbacks: { send: (url: string, result: CallbackResult) => void callbacks.push({ url, result }) } as unknown as CallbackSender,
    logger,
    extendEveryMs: options.extendEveryMs ?? 10_000,
    agentWaitMs: 200,
    ...(options.logFeed ? { logFeed: options.logFeed } : {}),
  });
  return { dispatcher, records, callbacks, calls };
}

function delivery(attempt: number, maxAttempts = 3, body: AsyncPayload = payload): Delivery & { extended: number } {
  const d = {
    id: "inv_1",
    tenantId: "ten_1",
    functionId: "fn_1",
    payload: body,
    idempotencyKey: undefined,
    attempt,
    maxAttempts,
    enqueuedAt: new Date(),
    extended: 0,
    extend: async () => void d.extended++,
  };
  return d;
}

const header = (head: agentV1.RequestHead, name: string) => head.headers.filter((h) => h.name === name).map((h) => h.value);

describe("AsyncDispatcher", () => {
  it("runs a delivery like a sync invoke, with its invocation id and attempt, and settles on a 2xx", async () => {
    const { dispatcher, records, callbacks, calls } = setup(() => new Response("done", { status: 201, headers: { "x-out": "1" } }));
    expect(await dispatcher.handle(delivery(2))).toBeUndefined();
    const { head, body } = calls[0]!;
    expect(head).toMatchObject({ invocationId: "inv_1", attempt: 2, trigger: "queue", method: "POST", path: "/orders?x=1" });
    expect(header(head, "x-isle-invocation-id")).toEqual(["inv_1"]);
    expect(header(head, "x-isle-attempt")).toEqual(["2"]);
    expect(head.trace?.traceparent).toBe(payload.trace.traceparent);
    expect(head.callToken).not.toBe("");
    expect(body).toBe("order 42");
    expect(records.map((r) => [r.status, r.attempt, r.mode, r.trigger, r.traceId])).toEqual([
      ["running", 2, "async", "queue", "0af7651916cd43dd8448eb211c80319c"],
      ["succeeded", 2, "async", "queue", "0af7651916cd43dd8448eb211c80319c"],
    ]);
    expect(records[1]).toMatchObject({ httpStatus: 201, agentId: "agent-0", deploymentId: "dep_1" });
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]!.url).toBe(payload.callbackUrl);
    expect(callbacks[0]!.result).toMatchObject({ invocationId: "inv_1", attempt: 2, status: 201 });
    expect(Buffer.from(callbacks[0]!.result.body).toString()).toBe("done");
    expect(callbacks[0]!.result.headers).toContainEqual(["x-out", "1"]);
  });

  it("runs a schedule's tick as a timer invocation that tells the function its schedule and time", async () => {
    const { dispatcher, records, calls } = setup(() => new Response("ok"));
    const tick: AsyncPayload = {
      ...payload,
      callbackUrl: undefined,
      headers: [["x-isle-schedule", "spoofed"]],
      trigger: "timer",
      schedule: { name: "nightly", scheduledAt: "2026-11-22T03:00:00.000Z" },
    };
    expect(await dispatcher.handle(delivery(1, 3, tick))).toBeUndefined();
    const { head } = calls[0]!;
    expect(head.trigger).toBe("timer");
    expect(header(head, "x-isle-schedule")).toEqual(["nightly"]);
    expect(header(head, "x-isle-scheduled-at")).toEqual(["2026-11-22T03:00:00.000Z"]);
    expect(records.map((r) => [r.status, r.trigger])).toEqual([
      ["running", "timer"],
      ["succeeded", "timer"],
    ]);
    // Nothing else in a payload makes an invocation a timer one.
    const other = setup(() => new Response("ok"));
    await other.dispatcher.handle(delivery(1, 3, { ...payload, trigger: "cron" as never }));
    expect(other.calls[0]!.head.trigger).toBe("queue");
  });

  it("takes a function's 4xx as its answer: settled, not retried", async () => {
    const { dispatcher, records } = setup(() => new Response("no", { status: 422 }));
    expect(await dispatcher.handle(delivery(1))).toBeUndefined();
    expect(records.at(-1)).toMatchObject({ status: "succeeded", httpStatus: 422 });
  });

  it("retries 5xx and 429 (after Retry-After when given) without a callback until the last attempt", async () => {
    const { dispatcher, records, callbacks } = setup(() => new Response("busy", { status: 429, headers: { "retry-after": "7" } }));
    expect(await dispatcher.handle(delivery(1))).toMatchObject({ outcome: "retry", delayMs: 7000 });
    expect(records.at(-1)).toMatchObject({ status: "retrying", httpStatus: 429, attempt: 1 });
    const failing = setup(() => new Response("broken", { status: 500 }));
    expect(await failing.dispatcher.handle(delivery(2))).toMatchObject({ outcome: "retry", error: expect.stringContaining("500") });
    expect(failing.callbacks).toHaveLength(0);
    // The last attempt: the queue dead-letters it; the record says so and the callback gets the failure.
    expect(await failing.dispatcher.handle(delivery(3))).toMatchObject({ outcome: "retry" });
    expect(failing.records.at(-1)).toMatchObject({ status: "dead", httpStatus: 500, attempt: 3 });
    expect(failing.callbacks.map((c) => [c.result.status, c.result.attempt])).toEqual([[500, 3]]);
    expect(callbacks).toHaveLength(0);
  });

  it("retries when no agent is available or the invocation times out", async () => {
    const none = setup(() => new Response("unused"), { agents: 0 });
    expect(await none.dispatcher.handle(delivery(1))).toMatchObject({ outcome: "retry" });
    expect(none.records.at(-1)).toMatchObject({ status: "retrying", httpStatus: 503, errorCode: "unavailable" });
    expect(none.calls).toHaveLength(0);
    const late = setup(() => {
      throw new IsleError("timeout", "the function did not answer before its deadline");
    });
    expect(await late.dispatcher.handle(delivery(1))).toMatchObject({ outcome: "retry" });
    expect(late.records.at(-1)).toMatchObject({ status: "retrying", httpStatus: 504, errorCode: "timeout" });
  });

  it("dead-letters at once when the function no longer exists", async () => {
    const { dispatcher, records, calls } = setup(() => new Response("unused"), { resolve: undefined });
    expect(await dispatcher.handle(delivery(1))).toMatchObject({ outcome: "dead" });
    expect(records.at(-1)).toMatchObject({ status: "dead", httpStatus: 404, errorCode: "not_found" });
    expect(calls).toHaveLength(0);
  });

  it("extends the delivery's lease while the function runs", async () => {
    const { dispatcher } = setup(() => new Promise((r) => setTimeout(() => r(new Response("slow")), 260)), { extendEveryMs: 50 });
    const d = delivery(1);
    await dispatcher.handle(d);
    expect(d.extended).toBeGreaterThanOrEqual(3);
    const after = d.extended;
    await new Promise((r) => setTimeout(r, 120));
    expect(d.extended).toBe(after);
  });

  it("keeps each attempt's output in the record it saves, and hands it to followers", async () => {
    const feed = new LogFeed();
    const batches: LogBatch[] = [];
    feed.subscribe("ten_1", "fn_1", (batch) => batches.push(batch));
    let status = 500;
    const { dispatcher, records } = setup(() => new Response("x", { status }), { logFeed: feed });
    output.push({ unixMs: Date.parse("2026-11-22T10:00:00Z"), level: "exception", message: "Uncaught Error: boom" });
    try {
      await dispatcher.handle(delivery(1));
      status = 200;
      await dispatcher.handle(delivery(2));
    } finally {
      output.length = 0;
    }
    const line = (attempt: number) => ({ at: "2026-11-22T10:00:00.000Z", level: "exception", message: `Uncaught Error: boom (attempt ${attempt})` });
    expect(records.map((r) => [r.status, r.logs])).toEqual([
      ["running", undefined],
      ["retrying", [line(1)]],
      ["running", undefined],
      ["succeeded", [line(2)]],
    ]);
    expect(batches.map((b) => [b.invocationId, b.status, b.lines])).toEqual([
      ["inv_1", "retrying", [line(1)]],
      ["inv_1", "succeeded", [line(2)]],
    ]);
  });
});
