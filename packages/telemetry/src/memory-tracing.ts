import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { InMemorySpanExporter, BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { Tracing } from "./tracing.js";

/**
 * Tracing that keeps finished spans in memory, for tests of the code that
 * makes spans. It installs no global: code under test must use the tracer it
 * is given (as the apps do), and run spans with explicit parent contexts.
 */
export function memoryTracing(serviceName = "test"): Tracing & { spans(): ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    enabled: true,
    serviceName,
    tracer: provider.getTracer(serviceName),
    notes: [],
    shutdown: () => provider.shutdown(),
    spans: () => exporter.getFinishedSpans(),
  };
}

export type { ReadableSpan };

/**
 * Installs the AsyncLocalStorage context manager that `startTracing` installs
 * in the apps, so a test can see which span is active where; returns the undo.
 */
export function installContextManager(): () => void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return () => context.disable();
}
