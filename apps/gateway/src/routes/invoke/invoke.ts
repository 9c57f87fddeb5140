import type { Context, Hono } from "hono";
import { IsleError } from "@isle/errors";
import type { agentV1 } from "@isle/proto";
import { traceIdOf, tracingOff, type Logger, type Tracing } from "@isle/telemetry";
import type { ApiKeyVerifier } from "../../auth/api-keys.js";
import type { AgentMember, Membership } from "../../control/membership.js";
import type { GatewayEnv } from "../../env.js";
import { newInvocationId } from "../../ids.js";
import { signCallToken, type CallTokens } from "../../invoke/call-token.js";
import type { InvocationRecorder } from "../../invoke/invocation-recorder.js";
import type { OutlierDetector } from "../../invoke/outlier-detector.js";
import { declaredLength, declaredLengthOver } from "../../invoke/limits.js";
import type { Invoker } from "../../invoke/sidecar-invoker.js";
import { wasUndelivered } from "../../invoke/node-fault.js";
import type { Placer } from "../../scaling/placer.js";
import type { GatewayMetrics } from "../../metrics/gateway-metrics.js";
import type { InvokeTarget, TargetResolver } from "../../invoke/target-resolver.js";
import type { RateDefaults } from "../../rate-limit/invoke-rate-limit.js";
import type { RateLimiter } from "../../rate-limit/rate-limiter.js";
import type { InvocationLogLine } from "@isle/db";
import { recordLines } from "../../logs/log-lines.js";
import { parseFunctionHost } from "./host-route.js";
import { incomingParts } from "./incoming.js";
import { admitInvoke } from "./admit.js";
import { InvokeSpan } from "./invoke-span.js";
import { buildRequestHead, functionPath } from "./request-head.js";
import { chooseDeployment } from "./traffic.js";

export interface InvokeDeps {
  resolver: TargetResolver;
  membership: Membership;
  /** Chooses the agent of each invocation among the function's replicas; waits while it starts from zero. */
  placer: Placer;
  invoker: Invoker;
  verifier: ApiKeyVerifier;
  recorder: InvocationRecorder;
  /** Counts each recorded invocation, once, where its record is made. */
  metrics: GatewayMetrics;
  /** Signs each invocation's token for calling its tenant's functions, and checks such calls. */
  callTokens: CallTokens;
  /** Nodes (or functions on nodes) that keep failing get no requests for a while (placement.ts). */
  outliers: OutlierDetector;
  /** ISLE_DOMAIN: enables `<function>--<tenant>.<domain>` hosts. */
  domain: string | undefined;
  logger: Logger;
  /** Per-tenant and per-key invoke buckets (ADR 0014). */
  rateLimiter: RateLimiter;
  rateDefaults: RateDefaults;
  /** Server spans of invokes; off when absent. */
  tracing?: Tracing;
}

/**
 * The sync invoke routes: `ANY /fn/:tenant/:function/*` and, when a domain is
 * configured, any request to `<function>--<tenant>.<domain>`; a branch preview
 * at `/fn/:tenant/:function@:branch/*` and `<branch>--<function>--<tenant>.<domain>`.
 * Each runs the function's active (or preview) deployment on an agent through that agent's sidecar,
 * streaming both bodies, and leaves an invocation record.
 */
export function registerInvoke(app: Hono<GatewayEnv>, deps: InvokeDeps): void {
  const { placer, invoker, recorder, metrics, callTokens } = deps;
  const tracing = deps.tracing ?? tracingOff;

  /** An invoke inside its server span when tracing is on; the span ends with the client's answer. */
  function traced(
    c: Context<GatewayEnv>,
    route: string,
    url: URL,
    tenantName: string,
    functionName: string,
    branch: string | undefined,
    path: string,
  ): Promise<Response> {
    const span = InvokeSpan.start(tracing, c, route);
    if (!span) return invoke(c, url, tenantName, functionName, branch, path, undefined);
    return span.run(() =>
      invoke(c, url, tenantName, functionName, branch, path, span).catch((err: unknown) => {
        span.fail(err);
        throw err;
      }),
    );
  }

  async function invoke(
    c: Context<GatewayEnv>,
    url: URL,
    tenantName: string,
    functionName: string,
    branch: string | undefined,
    path: string,
    span: InvokeSpan | undefined,
  ): Promise<Response> {
    const invocationId = newInvocationId();
    c.set("requestId", invocationId);
    c.set("invocationId", invocationId);

    const { target, callDepth, rateHeaders } = await admitInvoke(c, { ...deps, metrics }, tenantName, functionName, branch);

    const started = Date.now();
    const chosen = chooseDeployment(target, Math.random());
    span?.describe({ trigger: "http", invocationId, functionName: target.functionName, deploymentId: chosen.deploymentId, tenantName: target.tenantName });
    const incoming = incomingParts(c);
    const head = buildRequestHead({
      target: { ...target, ...chosen },
      invocationId,
      method: c.req.method,
      path,
      host: url.host,
      headers: incoming.headers,
      clientIp: incoming.clientIp,
      hasBody: incoming.body !== null,
      nowMs: started,
    });
    if (span) head.trace = span.traceHeaders();
    // The record names the trace the agent was told of: the gateway span's, or the client's when
    // tracing is off (none when the client sent none).
    const traceId = traceIdOf(head.trace?.traceparent ?? "");
    // The function's output, from the trailer; it arrives before the outcome or the failure settles.
    let logs: InvocationLogLine[] = [];
    const onLogs = (lines: agentV1.LogLine[]) => (logs = recordLines(lines));
    const record = (httpStatus: number, errorCode: string | undefined, coldStart: boolean, agentId: string | null) => {
      const entry = { ...invocationRecord(target, chosen.deploymentId, invocationId, started, httpStatus, errorCode, coldStart, agentId), logs, traceId };
      recorder.record(entry);
      metrics.invocation(tenantName, functionName, httpStatus, errorCode, coldStart, entry.durationMs);
    };
    // The agent enforces the cap on the bytes it receives; refusing a body
    // that declares itself too large here saves the trip and the upload.
    const maxRequestBytes = head.limits?.maxRequestBytes ?? 0;
    if (declaredLengthOver(incoming.headers, maxRequestBytes)) {
      record(413, "payload_too_large", false, null);
      throw new IsleError("payload_too_large", `the request body is over the function's limit of ${maxRequestBytes} bytes`);
    }
    head.callToken = signCallToken(callTokens, head, target.tenantId, callDepth + 1);
    // A failover may resend only what never reached a function. A small body declared by its
    // length is read whole first, so it can be sent again; a larger or chunked one streams, and
    // once read it is gone.
    let bodyTaken = false;
    const declared = declaredLength(incoming.headers);
    const replayable = incoming.body && declared !== undefined && declared <= replayableBodyBytes ? await readWhole(incoming.body) : undefined;
    const bodyOfTry = () => (replayable ? once(replayable) : incoming.body && observeFirstRead(incoming.body, () => (bodyTaken = true)));
    let body = bodyOfTry();
    const place = { tenantId: target.tenantId, functionId: target.functionId, deadlineMs: head.deadlineUnixMs, exclude: new Set<string>() };
    let agent: AgentMember;
    try {
      agent = placer.placeNow(place) ?? (await placer.place(place));
    } catch (err) {
      if (err instanceof IsleError) record(err.status, err.code, false, null);
      throw err;
    }
    for (let tries = 1; ; tries++) {
      try {
        const { response, coldStart, outcome } = await invoker.invoke(agent, { head, body, onClientGone: incoming.onClientGone, onLogs });
        const servedBy = agent.agentId;
        void outcome.then(({ errorCode }) => {
          record(response.status, errorCode, coldStart, servedBy);
          span?.end(response.status, errorCode, coldStart);
        });
        response.headers.set("x-isle-invocation-id", invocationId);
        for (const [name, value] of Object.entries(rateHeaders)) response.headers.set(name, value);
        return response;
      } catch (err) {
        // Another replica, if one is there now: a failover never waits for one to appear.
        const resendable = replayable !== undefined || !bodyTaken;
        const failover = wasUndelivered(err) && resendable && tries < maxTries ? placer.placeNow({ ...place, exclude: place.exclude.add(agent.agentId) }) : undefined;
        if (failover) {
          body = bodyOfTry();
          deps.logger.debug({ invocationId, from: agent.agentId, to: failover.agentId }, "invocation not delivered; trying another replica");
          agent = failover;
          continue;
        }
        if (err instanceof IsleError) record(err.status, err.code, false, agent.agentId);
        throw err;
      }
    }
  }

  // Function hosts come before every other route: on such a host, every path is the function's.
  app.use("*", async function functionHost(c, next) {
    const routed = parseFunctionHost(c.req.header("host"), deps.domain);
    if (!routed) return next();
    const url = new URL(c.req.url);
    return traced(c, "<function host>", url, routed.tenant, routed.fn, routed.branch, `${url.pathname}${url.search}`);
  });
  const byPath = (c: Context<GatewayEnv>) => {
    const url = new URL(c.req.url);
    // `hello@feature-x` names the preview of branch label feature-x (function names hold no `@`).
    const [functionName = "", ...rest] = (c.req.param("function") ?? "").split("@");
    const branch = rest.length > 0 ? rest.join("@") : undefined;
    const route = branch === undefined ? "/fn/:tenant/:function/*" : "/fn/:tenant/:function@:branch/*";
    return traced(c, route, url, c.req.param("tenant") ?? "", functionName, branch, functionPath(url));
  };
  app.all("/fn/:tenant/:function", byPath);
  app.all("/fn/:tenant/:function/*", byPath);
}

/** Tries of one sync invocation on different replicas, when the earlier ones never reached the function. */
const maxTries = 3;

/** Request bodies up to this size (declared by Content-Length) are kept for a failover. */
const replayableBodyBytes = 64 * 1024;

async function readWhole(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk);
  } catch {
    // The client's upload broke off: nothing reached the function, and nobody waits for an answer.
    throw new IsleError("bad_request", "the request body could not be read");
  }
  return Buffer.concat(chunks);
}

async function* once(bytes: Buffer): AsyncIterable<Uint8Array> {
  if (bytes.length > 0) yield bytes;
}

/** The same body, calling `onRead` when something first asks it for bytes. */
async function* observeFirstRead(body: AsyncIterable<Uint8Array>, onRead: () => void): AsyncIterable<Uint8Array> {
  onRead();
  yield* body;
}

function invocationRecord(
  target: InvokeTarget,
  deploymentId: string,
  id: string,
  started: number,
  httpStatus: number,
  errorCode: string | undefined,
  coldStart: boolean,
  agentId: string | null,
) {
  return {
    id,
    tenantId: target.tenantId,
    functionId: target.functionId,
    deploymentId,
    agentId,
    mode: "sync" as const,
    trigger: "http",
    status: errorCode ? "failed" : "succeeded",
    httpStatus,
    attempt: 1,
    coldStart,
    errorCode: errorCode ?? null,
    startedAt: new Date(started),
    durationMs: Date.now() - started,
  };
}
