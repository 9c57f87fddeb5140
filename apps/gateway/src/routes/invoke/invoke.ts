import type { Context, Hono } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import { IsleError } from "@isle/errors";
import type { Logger } from "@isle/telemetry";
import type { Membership } from "../../control/membership.js";
import type { GatewayEnv } from "../../env.js";
import { newInvocationId } from "../../ids.js";
import type { Invoker } from "../../invoke/sidecar-invoker.js";
import type { TargetResolver } from "../../invoke/target-resolver.js";
import { isDnsLabel } from "../../names.js";
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
    // Same answer for a missing tenant and a missing function: no probing.
    const missing = new IsleError("not_found", "function not found");
    if (!isDnsLabel(tenantName) || !isDnsLabel(functionName)) throw missing;
    const target = await resolver.resolve(tenantName, functionName);
    if (!target) throw missing;

    const agent = membership.pick();
    if (!agent) throw new IsleError("unavailable", "no agent is available to run the function; retry shortly");

    const url = new URL(c.req.url);
    const head = buildRequestHead({
      target,
      invocationId,
      method: c.req.method,
      path: functionPath(url),
      host: url.host,
      headers: c.req.raw.headers,
      clientIp: clientIp(c),
      nowMs: Date.now(),
    });
    const { response } = await invoker.invoke(agent, { head, body: c.req.raw.body, signal: c.req.raw.signal });
    response.headers.set("x-isle-invocation-id", invocationId);
    return response;
  }

  app.all("/fn/:tenant/:function", invoke);
  app.all("/fn/:tenant/:function/*", invoke);
}

function clientIp(c: Context<GatewayEnv>): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // not served by @hono/node-server (unit tests)
  }
}
