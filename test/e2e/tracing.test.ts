import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { OtlpReceiver, type ReceivedSpan } from "../harness/otlp-receiver.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

const server = 2; // OTLP SPAN_KIND_SERVER
const client = 3; // OTLP SPAN_KIND_CLIENT
const clientTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const clientSpanId = "00f067aa0ba902b7";

// gateway → sidecar → agent → isolate, exported over OTLP/HTTP JSON to a receiver on loopback.
describe("tracing", () => {
  let stack: Stack;
  let receiver: OtlpReceiver;
  let deploymentId = "";

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    stack = await Stack.start({
      // One process: the second call must find the isolate the first one loaded.
      workerdProcesses: 1,
      commonEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_BSP_SCHEDULE_DELAY: "50" },
    });
    await stack.createTenant("acme");
    const res = await stack.deploy("acme", "hello", fixture("hello"));
    expect(res.status).toBe(201);
    deploymentId = ((await res.json()) as { id: string }).id;
    await stack.configure("acme", "hello", { visibility: "public" });
    await stack.deployPublic("acme", "throws", fixture("throws"));
    await stack.deployPublic("acme", "probe", fixture("egress-probe"));
    expect((await stack.deploy("acme", "callee", fixture("callee"))).status).toBe(201);
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  /** Invokes, then waits for the four spans of that invocation's trace. */
  async function tracedInvoke(path: string, headers: Record<string, string> = {}, requestBody?: string) {
    const res = await fetch(`${stack.baseUrl}${path}`, { headers, ...(requestBody ? { method: "POST", body: requestBody } : {}) });
    const invocationId = res.headers.get("x-isle-invocation-id") ?? "";
    const body = await res.text();
    let spans: ReceivedSpan[] = [];
    await waitUntil(
      async () => {
        const gateway = receiver.spans.find((s) => s.service === "isle-gateway" && s.attributes["faas.invocation_id"] === invocationId);
        spans = gateway ? receiver.trace(gateway.traceId) : [];
        return spans.length >= 4;
      },
      15_000,
      `four spans of ${invocationId}; got ${JSON.stringify(receiver.spans.map((s) => [s.service, s.name, s.traceId]))}\nrefused: ${receiver.refused.join("\n")}\n${stack.tail()}`,
    );
    const by = (service: string, kind: number) => {
      const found = spans.filter((s) => s.service === service && s.kind === kind && s.attributes["faas.invocation_id"] === invocationId);
      expect(found, `${service} kind ${kind}`).toHaveLength(1);
      return found[0]!;
    };
    const chain = {
      gateway: by("isle-gateway", server),
      sidecar: by("isle-sidecar", server),
      agent: by("isle-agent", server),
      isolate: by("isle-agent", client),
    };
    return { res, body, invocationId, spans, ...chain };
  }

  it("gives each invoke one trace of four spans, parented hop by hop, with the FaaS attributes and cold starts", async () => {
    const secret = "isk_tracing_e2e_not-for-spans";
    const first = await tracedInvoke("/fn/acme/hello/x?token=query-secret", {
      traceparent: `00-${clientTraceId}-${clientSpanId}-01`,
      authorization: `Bearer ${secret}`,
      cookie: "session=cookie-secret",
    });
    const second = await tracedInvoke("/fn/acme/hello/y");

    for (const [call, coldStart] of [
      [first, true],
      [second, false],
    ] as const) {
      expect(call.res.status).toBe(200);
      expect(call.spans).toHaveLength(4);
      expect(call.sidecar.parentSpanId).toBe(call.gateway.spanId);
      expect(call.agent.parentSpanId).toBe(call.sidecar.spanId);
      expect(call.isolate.parentSpanId).toBe(call.agent.spanId);
      for (const span of [call.gateway, call.sidecar, call.agent, call.isolate]) {
        expect(span.attributes, `${span.service} ${span.name}`).toMatchObject({
          "faas.trigger": "http",
          "faas.invocation_id": call.invocationId,
          "faas.name": "hello",
          "faas.version": deploymentId,
          "isle.tenant": "acme",
          "faas.coldstart": coldStart,
        });
        expect(span.status.code ?? 0).toBe(0);
      }
      expect(call.gateway.attributes).toMatchObject({ "http.request.method": "GET", "http.response.status_code": 200 });
      // The function saw the isolate call's context as its traceparent.
      const seen = (JSON.parse(call.body) as { headers: Record<string, string> }).headers.traceparent;
      expect(seen).toBe(`00-${call.gateway.traceId}-${call.isolate.spanId}-01`);
    }
    // The client's traceparent is the parent of the gateway's span; without one, the gateway starts the trace.
    expect(first.gateway.traceId).toBe(clientTraceId);
    expect(first.gateway.parentSpanId).toBe(clientSpanId);
    expect(second.gateway.traceId).not.toBe(clientTraceId);
    expect(second.gateway.parentSpanId).toBe("");
    expect(receiver.refused).toEqual([]);
    // Each invocation's record names the trace of the traceparent the gateway sent on.
    for (const call of [first, second]) {
      let record: { traceId?: string | null } = {};
      await waitUntil(
        async () => {
          const res = await stack.operator(`/v1/tenants/acme/invocations/${call.invocationId}`);
          if (res.status === 200) record = (await res.json()) as typeof record;
          return res.status === 200;
        },
        10_000,
        `the record of ${call.invocationId}`,
      );
      expect(record.traceId).toBe(call.gateway.traceId);
    }
    // Spans name the function, never what the request carried.
    const exported = JSON.stringify(receiver.spans);
    for (const value of [secret, "cookie-secret", "query-secret"]) expect(exported).not.toContain(value);
  });

  it("carries the isolate call's context on the function's outbound requests", async () => {
    const caller = await tracedInvoke("/fn/acme/probe/", { "content-type": "application/json" }, JSON.stringify([{ kind: "fetch", target: `${stack.baseUrl}/fn/acme/callee/` }]));
    const [result] = JSON.parse(caller.body) as Array<{ status: number; body: string }>;
    expect(result?.status).toBe(200);
    const seenByCallee = (JSON.parse(result?.body ?? "{}") as { traceparent: string }).traceparent;
    // The call is part of the caller's trace: its gateway span is a child of the caller's isolate call.
    const calleeSpans = () => receiver.trace(caller.gateway.traceId).filter((s) => s.attributes["faas.name"] === "callee");
    await waitUntil(() => calleeSpans().length >= 4, 15_000, "the callee's four spans");
    const calleeGateway = calleeSpans().find((s) => s.service === "isle-gateway");
    const calleeIsolate = calleeSpans().find((s) => s.kind === client);
    expect(calleeGateway?.parentSpanId).toBe(caller.isolate.spanId);
    expect(seenByCallee).toBe(`00-${caller.gateway.traceId}-${calleeIsolate?.spanId}-01`);
  });

  it("marks every hop failed when the function throws", async () => {
    const call = await tracedInvoke("/fn/acme/throws");
    expect(call.res.status).toBe(500);
    expect(call.gateway.attributes["http.response.status_code"]).toBe(500);
    for (const span of [call.gateway, call.sidecar, call.agent, call.isolate]) {
      expect(span.status, `${span.service} ${span.name}`).toMatchObject({ code: 2, message: "function_error" });
    }
  });
});
