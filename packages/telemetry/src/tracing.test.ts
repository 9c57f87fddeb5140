import { Writable } from "node:stream";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { chooseExporter, context, contextFrom, startTracing, trace, traceHeadersOf, traceIdOf } from "./tracing.js";

describe("chooseExporter", () => {
  it("is off unless an endpoint or an exporter is named", () => {
    expect(chooseExporter({})).toEqual({ kind: "none" });
    expect(chooseExporter({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toEqual({ kind: "none" });
    expect(chooseExporter({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_TRACES_EXPORTER: "none" })).toEqual({ kind: "none" });
    expect(chooseExporter({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" })).toEqual({ kind: "none" });
  });

  it("exports OTLP over http/protobuf by default and http/json when asked", () => {
    expect(chooseExporter({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" })).toMatchObject({ kind: "otlp", protocol: "http/protobuf" });
    expect(chooseExporter({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toMatchObject({ protocol: "http/json" });
    expect(chooseExporter({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://h/v1/traces", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" })).toMatchObject({
      protocol: "http/json",
    });
  });

  it("says so when it cannot honour the protocol", () => {
    const choice = chooseExporter({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
    expect(choice).toMatchObject({ kind: "otlp", protocol: "http/protobuf" });
    expect(choice.kind === "otlp" && choice.notes[0]).toContain("grpc");
  });

  it("gives a disabled tracing when nothing asks for it", () => {
    expect(startTracing("isle-gateway", {}).enabled).toBe(false);
  });
});

describe("trace context", () => {
  const provider = new BasicTracerProvider();
  const tracer = provider.getTracer("test");
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  afterAll(() => context.disable());

  it("makes a client's traceparent the parent and hands on the child's", () => {
    const parent = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "vendor=x" };
    const span = tracer.startSpan("child", {}, contextFrom(parent));
    const out = traceHeadersOf(span);
    expect(span.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(out.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(out.traceparent).not.toContain("b7ad6b7169203331");
    expect(out.tracestate).toBe("vendor=x");
  });

  it("starts a new trace from a missing or malformed traceparent", () => {
    for (const traceparent of ["", "not-a-traceparent"]) {
      const span = tracer.startSpan("root", {}, contextFrom({ traceparent, tracestate: "" }));
      expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect((span as unknown as { parentSpanContext?: unknown }).parentSpanContext).toBeUndefined();
    }
  });

  it("reads the trace id of a traceparent, null for a missing or malformed one", () => {
    expect(traceIdOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(traceIdOf(traceHeadersOf(tracer.startSpan("root")).traceparent)).toMatch(/^[0-9a-f]{32}$/);
    for (const traceparent of ["", "not-a-traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"]) {
      expect(traceIdOf(traceparent), traceparent).toBeNull();
    }
  });

  it("puts the active span's ids on log lines and none outside a span", () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
    const log = createLogger({ service: "agent", destination });
    const span = tracer.startSpan("work");
    context.with(trace.setSpan(context.active(), span), () => log.info("inside"));
    log.info("outside");
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
    expect(outside).not.toHaveProperty("trace_id");
  });
});
