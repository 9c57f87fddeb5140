import type { Context, Hono } from "hono";
import { IsleError } from "@isle/errors";
import type { Logger } from "@isle/telemetry";
import type { ApiKeyVerifier } from "../../auth/api-keys.js";
import type { Membership } from "../../control/membership.js";
import type { GatewayEnv } from "../../env.js";
import { newInvocationId } from "../../ids.js";
import type { InvocationRecorder } from "../../invoke/invocation-recorder.js";
import type { Invoker } from "../../invoke/sidecar-invoker.js";
import type { InvokeTarget, TargetResolver } from "../../invoke/target-resolver.js";
import { isDnsLabel } from "@isle/db";
import { parseFunctionHost } from "./host-route.js";
import { incomingParts } from "./incoming.js";
import { authorizeInvoke } from "./invoke-auth.js";
import { buildRequestHead, functionPath } from "./request-head.js";
import { chooseDeployment } from "./traffic.js";

export interface InvokeDeps {
  resolver: TargetResolver;
  membership: Membership;
  invoker: Invoker;
  verifier: ApiKeyVerifier;
  recorder: InvocationRecorder;
  /** ISLE_DOMAIN: enables `<function>--<tenant>.<domain>` hosts. */
  domain: string | undefined;
  logger: Logger;
}

/**
 * The sync invoke routes: `ANY /fn/:tenant/:function/*` and, when a domain is
 * configured, any request to `<function>--<tenant>.<domain>`. Each runs the
 * function's active deployment on an agent through that agent's sidecar,
 * streaming both bodies, and leaves an invocation record.
 */
export function registerInvoke(app: Hono<GatewayEnv>, deps: InvokeDeps): void {
  const { resolver, membership, invoker, verifier, recorder } = deps;

  async function invoke(c: Context<GatewayEnv>, url: URL, tenantName: string, functionName: string, path: string): Promise<Response> {
    const invocationId = newInvocationId();
    c.set("requestId", invocationId);
    c.set("invocationId", invocationId);

    const target =
      isDnsLabel(tenantName) && isDnsLabel(functionName) ? await resolver.resolve(tenantName, functionName) : undefined;
    // Same answer for a missing tenant and a missing function: no probing.
    if (!target) throw new IsleError("not_found", "function not found");
    await authorizeInvoke(target, { authorization: c.req.header("authorization"), apiKey: c.req.header("x-api-key") }, verifier);

    const started = Date.now();
    const chosen = chooseDeployment(target, Math.random());
    const record = (httpStatus: number, errorCode: string | undefined, coldStart: boolean, agentId: string | null) =>
      recorder.record(invocationRecord(target, chosen.deploymentId, invocationId, started, httpStatus, errorCode, coldStart, agentId));

    const agent = membership.pick();
    if (!agent) {
      record(503, "unavailable", false, null);
      throw new IsleError("unavailable", "no agent is available to run the function; retry shortly");
    }
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
    try {
      const { response, coldStart, outcome } = await invoker.invoke(agent, { head, body: incoming.body, onClientGone: incoming.onClientGone });
      void outcome.then(({ errorCode }) => record(response.status, errorCode, coldStart, agent.agentId));
      response.headers.set("x-isle-invocation-id", invocationId);
      return response;
    } catch (err) {
      if (err instanceof IsleError) record(err.status, err.code, false, agent.agentId);
      throw err;
    }
  }

  // Function hosts come before every other route: on such a host, every path is the function's.
  app.use("*", async function functionHost(c, next) {
    const routed = parseFunctionHost(c.req.header("host"), deps.domain);
    if (!routed) return next();
    const url = new URL(c.req.url);
    return invoke(c, url, routed.tenant, routed.fn, `${url.pathname}${url.search}`);
  });
  const byPath = (c: Context<GatewayEnv>) => {
    const url = new URL(c.req.url);
    return invoke(c, url, c.req.param("tenant") ?? "", c.req.param("function") ?? "", functionPath(url));
  };
  app.all("/fn/:tenant/:function", byPath);
  app.all("/fn/:tenant/:function/*", byPath);
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
