import type { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { agentV1, carriesEntry, contextKeyMetadata, grpcChannelOptions, relayedWholeAnswersMetadata, wholeAnswersMetadata } from "@isle/proto";
import { tracingOff, type Logger, type Tracing } from "@isle/telemetry";
import { admitCaller, isStatus } from "./caller-guard.js";
import { invokeFilter } from "./invoke-filter.js";
import { TenantConcurrencyGate, type TenantSlots } from "./limits.js";
import { ChannelSpans } from "./channel-spans.js";

const identity = (value: Buffer): Buffer => value;

/** Transport headers that belong to one hop and must not be copied to the next (the context key is the sidecar's alone). */
const hopHeaders = new Set([
  "user-agent",
  "content-type",
  "te",
  "grpc-accept-encoding",
  "grpc-encoding",
  "grpc-timeout",
  "accept-encoding",
  ...Object.values(contextKeyMetadata),
  // Whole answers: the gateway's entry is replaced by the sidecar's own (see forwardMetadata).
  wholeAnswersMetadata.key,
  relayedWholeAnswersMetadata.key,
]);

/** Every Agent method with identity (de)serializers: frames move as bytes. */
function passthroughService(): Record<string, grpc.MethodDefinition<Buffer, Buffer>> {
  const service: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  for (const [name, method] of Object.entries(agentV1.AgentService)) {
    service[name] = {
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
  }
  return service;
}

function forwardMetadata(incoming: grpc.Metadata): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const [key, value] of Object.entries(incoming.getMap())) {
    if (hopHeaders.has(key) || key.startsWith(":")) continue;
    out.set(key, value);
  }
  // This sidecar reads whole answers (limits.ts, channel-spans.ts): the agent may send them when the gateway asked.
  if (carriesEntry(incoming, wholeAnswersMetadata)) {
    out.set(relayedWholeAnswersMetadata.key, relayedWholeAnswersMetadata.value);
  }
  return out;
}

function asStatus(err: unknown): Partial<grpc.StatusObject> {
  const e = err as Partial<grpc.ServiceError>;
  return { code: e.code ?? grpc.status.UNAVAILABLE, details: e.details ?? "agent unreachable" };
}

export interface ProxyOptions {
  /** Per-tenant invocations in flight on this node, shared by every Invoke stream. */
  tenantSlots: TenantSlots;
  /** Spans per invocation channel; off when absent. */
  tracing?: Tracing;
}

/**
 * Builds the sidecar's gRPC server: every Agent call is forwarded to the
 * agent's Unix socket, deadline and cancellation included. Bodies are never
 * decoded; Node stream backpressure plus HTTP/2 flow control on both sides
 * keep memory flat however large a body is. On Invoke streams, request heads
 * are read to check their signed context (invoke-filter.ts) and to hold each
 * tenant to its concurrency on this node (limits.ts); with tracing on, each
 * channel gets a span (ChannelSpans re-encodes the head with its context,
 * which the signature does not cover).
 */
export function createProxyServer(agentSocket: string, logger: Logger, options: ProxyOptions): { server: grpc.Server; close(): void } {
  const invokePath = agentV1.AgentService.invoke.path;
  const client = new grpc.Client(`unix:${agentSocket}`, grpc.credentials.createInsecure(), grpcChannelOptions);
  const server = new grpc.Server(grpcChannelOptions);
  const service = passthroughService();
  const handlers: grpc.UntypedServiceImplementation = {};

  for (const [name, method] of Object.entries(service)) {
    if (method.requestStream && method.responseStream) {
      handlers[name] = (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        const admitted = admitCaller(call);
        if (isStatus(admitted)) {
          call.emit("error", admitted);
          return;
        }
        const upstream = client.makeBidiStreamRequest(method.path, identity, identity, forwardMetadata(call.metadata), {
          deadline: call.getDeadline(),
        });
        call.on("cancelled", () => upstream.cancel());
        call.on("error", () => upstream.cancel());
        upstream.on("error", (err) => {
          logger.debug({ method: name, err: asStatus(err) }, "upstream call failed");
          call.emit("error", asStatus(err));
        });
        // Both are Node Duplex streams of Buffers; grpc-js' typings do not say so.
        if (method.path === invokePath) {
          // Signed contexts first: a refused head never takes a tenant's slot.
          const verified = call.pipe(invokeFilter(admitted, (frame) => call.write(Buffer.from(frame)), logger));
          const gate = new TenantConcurrencyGate(options.tenantSlots, (frame) => call.write(frame), logger);
          upstream.on("data", (frame: Buffer) => gate.observeOutbound(frame));
          // Slots are held until the agent's side is over too: trailers may follow the caller's half-close.
          for (const event of ["error", "cancelled", "close"]) call.on(event, () => gate.close());
          for (const event of ["end", "error"]) upstream.on(event, () => gate.close());
          let forwarded = verified.pipe(gate.inbound());
          const tracing = options.tracing ?? tracingOff;
          if (tracing.enabled) {
            const spans = new ChannelSpans(tracing.tracer);
            upstream.on("data", (frame: Buffer) => spans.onResponse(frame));
            upstream.on("status", () => spans.endAll("the invoke stream closed"));
            upstream.on("error", () => spans.endAll("the invoke stream failed"));
            forwarded = forwarded.pipe(spans.requests());
          }
          forwarded.pipe(upstream as unknown as Writable);
        } else {
          call.pipe(upstream as unknown as Writable);
        }
        upstream.pipe(call as unknown as Writable);
      };
    } else if (!method.requestStream && !method.responseStream) {
      handlers[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const admitted = admitCaller(call);
        if (isStatus(admitted)) {
          callback(admitted);
          return;
        }
        const upstream = client.makeUnaryRequest(
          method.path,
          identity,
          identity,
          call.request,
          forwardMetadata(call.metadata),
          { deadline: call.getDeadline() },
          (err, value) => (err ? callback(asStatus(err)) : callback(null, value)),
        );
        // grpc-js ties the agent's call to this one only through the deadline: a caller that gives up earlier must end it too.
        call.on("cancelled", () => upstream.cancel());
      };
    }
  }
  server.addService(service, handlers);
  return {
    server,
    close: () => {
      server.forceShutdown();
      client.close();
    },
  };
}
