import { defaultWindowBytes, hopByHopHeaders, type agentV1 } from "@isle/proto";
import { invocationLimits } from "../../invoke/limits.js";
import type { InvokeTarget } from "../../invoke/target-resolver.js";

/** Client headers that never reach a function. */
const strippedHeaders = new Set([...hopByHopHeaders, "host", "authorization", "x-api-key"]);

export interface HeadInput {
  target: InvokeTarget;
  invocationId: string;
  method: string;
  /** Path and query the function sees. */
  path: string;
  host: string;
  headers: Iterable<[string, string]>;
  clientIp: string | undefined;
  /** Whether a request body follows (not for GET and HEAD). */
  hasBody: boolean;
  nowMs: number;
  /** Which delivery of an async invocation this is (sent as `x-isle-attempt`); sync invokes are 1. */
  attempt?: number;
  /** What started the invocation: "http" (default), "queue" for async deliveries, "timer" for a schedule's. */
  trigger?: string;
  /** A schedule's tick, told to the function as `x-isle-schedule` and `x-isle-scheduled-at`. */
  schedule?: { name: string; scheduledAt: string };
}

/**
 * The request head sent to the agent. Credentials and every client-sent
 * `x-isle-*` header are dropped here, so a client cannot spoof what the
 * platform tells the function; the platform's own headers are added after.
 */
export function buildRequestHead(input: HeadInput): agentV1.RequestHead {
  const headers: agentV1.Header[] = [];
  let traceparent = "";
  let tracestate = "";
  for (const [name, value] of input.headers) {
    if (strippedHeaders.has(name) || name.startsWith("x-isle-")) continue;
    if (name === "traceparent") traceparent = value;
    else if (name === "tracestate") tracestate = value;
    headers.push({ name, value });
  }
  headers.push({ name: "x-isle-invocation-id", value: input.invocationId });
  const attempt = input.attempt ?? 1;
  if (input.attempt !== undefined) headers.push({ name: "x-isle-attempt", value: String(attempt) });
  if (input.clientIp) headers.push({ name: "x-isle-client-ip", value: input.clientIp });
  if (input.schedule) {
    headers.push({ name: "x-isle-schedule", value: input.schedule.name });
    headers.push({ name: "x-isle-scheduled-at", value: input.schedule.scheduledAt });
  }

  const { target } = input;
  const limits = invocationLimits(target.limits);
  return {
    invocationId: input.invocationId,
    attempt,
    function: {
      tenantId: target.tenantId,
      functionId: target.functionId,
      deploymentId: target.deploymentId,
      artifactHash: target.artifactHash,
      tenantName: target.tenantName,
      functionName: target.functionName,
    },
    method: input.method,
    path: input.path,
    headers,
    limits,
    envRef: target.envRef,
    deadlineUnixMs: input.nowMs + limits.wallTimeoutMs,
    trace: { traceparent, tracestate },
    trigger: input.trigger ?? "http",
    host: input.host,
    initialWindow: defaultWindowBytes,
    hasBody: input.hasBody,
    // Signed by the invoke route once the deadline above is known.
    callToken: "",
    // Signed by the invoker for the sidecar it sends to.
    contextSignature: Buffer.alloc(0),
  };
}

/**
 * The part of a `/fn/:tenant/:function/...` path that belongs to the function,
 * as the client sent it (still percent-encoded), with the query.
 */
export function functionPath(url: URL): string {
  const rest = url.pathname.split("/").slice(4).join("/");
  return `/${rest}${url.search}`;
}
