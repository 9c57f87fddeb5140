import type { Context, Hono } from "hono";
import type { CidrList } from "@isle/config";
import type { NewInvocation } from "@isle/db";
import { IsleError } from "@isle/errors";
import type { InvocationQueue } from "@isle/queue";
import { traceIdOf, type Logger } from "@isle/telemetry";
import { checkCallbackUrl, type HostLookup } from "../../async/callback-url.js";
import { storedHeaders, type AsyncPayload } from "../../async/async-payload.js";
import { recordQueued } from "../../async/queued-record.js";
import type { GatewayEnv } from "../../env.js";
import { newInvocationId } from "../../ids.js";
import { declaredLengthOver, invocationLimits } from "../../invoke/limits.js";
import { admitInvoke, type AdmitDeps } from "./admit.js";
import { incomingParts } from "./incoming.js";
import { functionPath } from "./request-head.js";

export interface AsyncInvokeDeps extends AdmitDeps {
  queue: InvocationQueue;
  /** Writes the accepted invocation's record (status `queued`) before the 202. */
  saveRecord: (row: NewInvocation) => Promise<void>;
  /** ISLE_CALLBACK_ALLOW: non-public addresses callbacks may reach anyway. */
  callbackAllow: CidrList;
  lookup?: HostLookup;
  logger: Logger;
}

/**
 * `POST /async/:tenant/:function/*`: admitted like a sync invoke (same 404, keys, rate limits
 * and body cap), then stored in the queue; `202 {invocationId}` only once the queue confirmed
 * the store (G2). The gateway's dispatcher runs it later (async/dispatcher.ts).
 */
export function registerAsyncInvoke(app: Hono<GatewayEnv>, deps: AsyncInvokeDeps): void {
  const accept = async (c: Context<GatewayEnv>) => {
    const invocationId = newInvocationId();
    c.set("requestId", invocationId);
    c.set("invocationId", invocationId);
    const { target, rateHeaders } = await admitInvoke(c, deps, c.req.param("tenant") ?? "", c.req.param("function") ?? "");

    const callbackHeader = c.req.header("x-callback-url");
    const callbackUrl = callbackHeader === undefined ? undefined : (await checkCallbackUrl(callbackHeader, deps.callbackAllow, deps.lookup)).href;
    const idempotencyKey = c.req.header("idempotency-key");
    const incoming = incomingParts(c);
    const maxRequestBytes = Math.min(invocationLimits(target.limits).maxRequestBytes, maxQueuedBodyBytes);
    if (declaredLengthOver(incoming.headers, maxRequestBytes)) throw tooLarge(maxRequestBytes);
    const body = incoming.body === null ? null : await readCapped(incoming.body, maxRequestBytes);

    const url = new URL(c.req.url);
    const path = functionPath(url);
    const header = (name: string) => incoming.headers.find(([n]) => n === name)?.[1] ?? "";
    const acceptedAtMs = Date.now();
    const payload: AsyncPayload = {
      tenantName: target.tenantName,
      functionName: target.functionName,
      method: c.req.method,
      path: path.slice(0, path.length - url.search.length),
      query: url.search,
      host: url.host,
      headers: storedHeaders(incoming.headers),
      clientIp: incoming.clientIp,
      body: body === null ? null : body.toString("base64"),
      callbackUrl,
      trace: { traceparent: header("traceparent"), tracestate: header("tracestate") },
      acceptedAtMs,
    };
    const queued = await deps.queue.enqueue({
      id: invocationId,
      tenantId: target.tenantId,
      functionId: target.functionId,
      payload,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    });
    if (!queued.duplicate) {
      await recordQueued(deps.saveRecord, deps.logger, { id: invocationId, tenantId: target.tenantId, functionId: target.functionId, trigger: "queue", acceptedAtMs, traceId: traceIdOf(payload.trace.traceparent) });
    }
    c.set("invocationId", queued.id);
    const location = `/v1/tenants/${target.tenantName}/invocations/${queued.id}`;
    return c.json({ invocationId: queued.id }, 202, { ...rateHeaders, location, "x-isle-invocation-id": queued.id });
  };
  app.post("/async/:tenant/:function", accept);
  app.post("/async/:tenant/:function/*", accept);
}

/**
 * The largest body an async invoke stores, whatever the function's own cap: stored as base64
 * in a JSON payload, 768 KiB becomes 1 MiB, the queue's default message limit, less what the
 * head needs.
 */
const maxQueuedBodyBytes = 700 * 1024;

const tooLarge = (max: number) => new IsleError("payload_too_large", `the request body is over the function's limit of ${max} bytes`);

/** The whole body, or `payload_too_large` as soon as it passes `max` bytes. */
async function readCapped(body: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) throw tooLarge(max);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
