import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { memoryTracing, tracingOff } from "@isle/telemetry";
import type { GatewayEnv } from "../../env.js";
import { InvokeSpan } from "./invoke-span.js";

const clientParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const facts = { trigger: "http", invocationId: "inv_1", functionName: "hello", deploymentId: "dep_1", tenantName: "acme" };

/** A route that runs `body` with an InvokeSpan, as the invoke route does. */
function appWith(tracing: ReturnType<typeof memoryTracing>, body: (span: InvokeSpan) => Response) {
  const app = new Hono<GatewayEnv>();
  const heads: string[] = [];
  app.all("/fn/:tenant/:function/*", (c) => {
    const span = InvokeSpan.start(tracing, c, "/fn/:tenant/:function/*")!;
    span.describe(facts);
    heads.push(span.traceHeaders().traceparent);
    return body(span);
  });
  return { app, heads };
}

describe("InvokeSpan", () => {
  it("is a server span under the client's traceparent, parent of the next hop", async () => {
    const tracing = memoryTracing();
    const { app, heads } = appWith(tracing, (span) => {
      span.end(201, undefined, true);
      return new Response("ok", { status: 201 });
    });
    await app.request("/fn/acme/hello/x", { headers: { traceparent: clientParent, tracestate: "v=1" } });
    const [span] = tracing.spans();
    expect(span?.kind).toBe(1); // SERVER
    expect(span?.name).toBe("GET /fn/:tenant/:function/*");
    expect(span?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(span?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(heads[0]).toBe(`00-0af7651916cd43dd8448eb211c80319c-${span?.spanContext().spanId}-01`);
    expect(span?.attributes).toMatchObject({
      "http.request.method": "GET",
      "http.response.status_code": 201,
      "faas.trigger": "http",
      "faas.invocation_id": "inv_1",
      "faas.name": "hello",
      "faas.version": "dep_1",
      "faas.coldstart": true,
      "isle.tenant": "acme",
    });
    expect(span?.status.code).toBe(0);
  });

  it("starts a trace of its own without a client traceparent", async () => {
    const tracing = memoryTracing();
    const { app } = appWith(tracing, (span) => (span.end(200, undefined), new Response("ok")));
    await app.request("/fn/acme/hello/");
    expect(tracing.spans()[0]?.parentSpanContext).toBeUndefined();
  });

  it("marks failures as errors with their code", async () => {
    const tracing = memoryTracing();
    const { app } = appWith(tracing, (span) => {
      span.fail(new IsleError("timeout", "late"));
      span.end(200, undefined); // a second end is ignored
      return new Response("late", { status: 504 });
    });
    await app.request("/fn/acme/hello/");
    const spans = tracing.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.status).toEqual({ code: 2, message: "timeout" });
    expect(spans[0]?.attributes["http.response.status_code"]).toBe(504);
  });

  it("leaves a caller's 4xx out of the errors, naming it only", async () => {
    const tracing = memoryTracing();
    const { app } = appWith(tracing, (span) => {
      span.fail(new IsleError("not_found", "function not found"));
      return new Response("", { status: 404 });
    });
    await app.request("/fn/acme/hello/");
    expect(tracing.spans()[0]?.status.code).toBe(0);
    expect(tracing.spans()[0]?.attributes).toMatchObject({ "error.type": "not_found", "http.response.status_code": 404 });
  });

  it("costs nothing when tracing is off", async () => {
    const app = new Hono<GatewayEnv>();
    app.get("/x", (c) => new Response(String(InvokeSpan.start(tracingOff, c, "/x"))));
    expect(await (await app.request("/x")).text()).toBe("undefined");
  });
});
