import type { Context } from "hono";
import { isDnsLabel } from "@isle/db";
import { IsleError } from "@isle/errors";
import type { ApiKeyVerifier } from "../../auth/api-keys.js";
import type { GatewayEnv } from "../../env.js";
import { callTokenHeader, maxCallDepth, type CallTokens } from "../../invoke/call-token.js";
import type { InvokeTarget, TargetResolver } from "../../invoke/target-resolver.js";
import type { GatewayMetrics } from "../../metrics/gateway-metrics.js";
import { enforceRateLimit, invokePolicies, type RateDefaults } from "../../rate-limit/invoke-rate-limit.js";
import type { RateLimiter } from "../../rate-limit/rate-limiter.js";
import { isBranchLabel } from "../../git/branch-label.js";
import { authorizeInvoke } from "./invoke-auth.js";

/** What admitting an invoke needs; a subset of the invoke routes' dependencies. */
export interface AdmitDeps {
  resolver: TargetResolver;
  verifier: ApiKeyVerifier;
  callTokens: CallTokens;
  metrics: GatewayMetrics;
  rateLimiter: RateLimiter;
  rateDefaults: RateDefaults;
}

/** An invoke that may go ahead. */
export interface Admitted {
  target: InvokeTarget;
  /** How deep in a function-to-function chain the caller is (0 for a client). */
  callDepth: number;
  /** Rate-limit headers, already set on the context, for a response built elsewhere. */
  rateHeaders: Record<string, string>;
}

/**
 * The checks every invoke passes, sync or async, in this order: the function (or its branch
 * preview, with `branch`) exists (one
 * answer for a missing tenant and a missing function: no probing), the caller may invoke it,
 * and the tenant's and key's rate limits allow it — after authorisation, so a stranger's
 * requests for a private function spend no one's budget.
 */
export async function admitInvoke(
  c: Context<GatewayEnv>,
  deps: AdmitDeps,
  tenantName: string,
  functionName: string,
  branch?: string,
): Promise<Admitted> {
  const named = isDnsLabel(tenantName) && isDnsLabel(functionName) && (branch === undefined || isBranchLabel(branch));
  const target = named ? await deps.resolver.resolve(tenantName, functionName, branch) : undefined;
  if (!target) throw new IsleError("not_found", "function not found");
  const { depth: callDepth, keyId } = await authorize(c, deps, target);
  const rateHeaders = await enforceRateLimit(
    c,
    deps.rateLimiter,
    invokePolicies(target.tenantId, target.tenantQuotas, keyId, deps.rateDefaults),
  ).catch((err: unknown) => {
    if (err instanceof IsleError && err.code === "rate_limited") {
      const limits = (err.details?.["limits"] as string[] | undefined) ?? [];
      deps.metrics.rateLimitRejected(tenantName, limits.includes("key") && !limits.includes("tenant") ? "key" : "tenant");
    }
    throw err;
  });
  return { target, callDepth, rateHeaders };
}

/**
 * A function calling a function of its own tenant needs no key: its call token says which
 * tenant it runs for. Any other request (and a call of another tenant's function) is
 * authorised like a client's.
 */
async function authorize(
  c: Context<GatewayEnv>,
  deps: AdmitDeps,
  target: InvokeTarget,
): Promise<{ depth: number; keyId: string | undefined }> {
  const call = deps.callTokens.verify(c.req.header(callTokenHeader), Date.now());
  if (call && call.tenantId === target.tenantId) {
    if (call.depth >= maxCallDepth) throw new IsleError("call_depth_exceeded", `functions may call functions at most ${maxCallDepth} deep`);
    return { depth: call.depth, keyId: undefined };
  }
  const keyId = await authorizeInvoke(target, { authorization: c.req.header("authorization"), apiKey: c.req.header("x-api-key") }, deps.verifier);
  return { depth: 0, keyId };
}
