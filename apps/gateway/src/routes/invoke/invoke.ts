import type { Context, Hono } from "hono";
import { IsleError } from "@isle/errors";
import type { Logger } from "@isle/telemetry";
import type { Membership } from "../../control/membership.js";
import type { GatewayEnv } from "../../env.js";
import { newInvocationId } from "../../ids.js";
import type { Invoker } from "../../invoke/sidecar-invoker.js";
import type { TargetResolver } from "../../invoke/target-resolver.js";
import { isDnsLabel } from "../../names.js";
import { incomingParts } from "./incoming.js";
import { buildRequestHead, functionPath } from "./request-head.js";

export interface InvokeDeps {
  resolver: TargetResolver;
  membership: Membership;
  invoker: Invoker;
  logger: Logger;
}

/**
 * `ANY /fn/:tenant/:function/*`: runs the function's active deployment on an
 * agent, through that agent's sidecar, streaming both bodies.
 */
export function registerInvoke(app: Hono<GatewayEnv>, { resolver, membership, invoker }: InvokeDeps): void {
  async function invoke(c: Context<GatewayEnv>): Promise<Response> {
    const invocationId = newInvocationId();
    c.set("requestId", invocationId);
    c.set("invocationId", invocationId);

    const tenantName = c.req.param("tenant") ?? "";
    const functionName = c.req.param("function") ?? "";
    const target =
      isDnsLabel(tenantName) && isDnsLabel(functionName) ? await resolver.resolve(tenantName, functionName) : undefined;
    // Same answer for a missing tenant and a missing function: no probing.
    if (!target) throw new IsleError("not_found", "function not found");

    const agent = membership.pick();
    if (!agent) throw new IsleError("unavailable", "no agent is available to run the function; retry shortly");

    const url = new URL(c.req.url);
    const incoming = incomingParts(c);
    const head = buildRequestHead({
      target,
      invocationId,
      method: c.req.method,
      path: functionPath(url),
      host: url.host,
      headers: incoming.headers,
      clientIp: incoming.clientIp,
      hasBody: incoming.body !== null,
      nowMs: Date.now(),
    });
    const { response } = await invoker.invoke(agent, { head, body: incoming.body, onClientGone: incoming.onClientGone });
    response.headers.set("x-isle-invocation-id", invocationId);
    return response;
  }

  app.all("/fn/:tenant/:function", invoke);
  app.all("/fn/:tenant/:function/*", invoke);
}
