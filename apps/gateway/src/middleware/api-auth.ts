import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { findTenantByName, isDnsLabel, type IsleDb } from "@isle/db";
import { IsleError } from "@isle/errors";
import { hasScope, presentedCredential, type ApiKeyVerifier, type Scope } from "../auth/api-keys.js";
import type { GatewayEnv, Principal } from "../env.js";

export interface ApiAuthOptions {
  adminToken: string;
  verifier: ApiKeyVerifier;
  db: IsleDb;
  /** Paths under /v1 anyone may read (the OpenAPI document). */
  publicPaths?: readonly string[];
  /** Paths outside any tenant that every valid credential may call, about itself (whoami). */
  selfPaths?: readonly string[];
}

/** The one answer for every credential problem, so a caller learns nothing about why. */
export const unauthorized = () => new IsleError("unauthorized", "a valid operator token or API key is required");

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Authorises every /v1 request before any route sees it, failing closed so a new route
 * cannot forget: the operator may do anything; an API key may only act under
 * `/v1/tenants/<its tenant>/…`, with at least `read` for GET/HEAD and `deploy` otherwise
 * (routes may ask for more with requireScope), and, when restricted to a function, only on
 * that function's paths or on the tenant's function and invocation lists and stats (which
 * routes filter). Every credential failure — missing, malformed, unknown, expired, revoked,
 * another tenant's — is the same 401; a real key lacking a scope is 403.
 */
export function apiAuth({ adminToken, verifier, db, publicPaths = [], selfPaths = [] }: ApiAuthOptions): MiddlewareHandler<GatewayEnv> {
  const operatorDigest = digest(adminToken);
  const isOperator = (credential: string) => timingSafeEqual(digest(credential), operatorDigest);

  return async function apiAuthMiddleware(c, next) {
    if (publicPaths.includes(c.req.path)) return next();
    const credential = presentedCredential(c.req.header("authorization"), c.req.header("x-api-key"));
    if (!credential) throw unauthorized();

    let principal: Principal;
    if (isOperator(credential)) principal = { kind: "operator" };
    else {
      const key = await verifier.verify(credential);
      if (!key) throw unauthorized();
      principal = { kind: "key", key };
    }
    c.set("principal", principal);

    // c.req.path is already percent-decoded, once, exactly as the router sees it.
    const segments = c.req.path.split("/").slice(1); // ["v1", "tenants", tenant, area, name, …]
    const tenantName = segments[1] === "tenants" && segments.length > 3 ? segments[2] : undefined;
    if (tenantName === undefined) {
      // Tenant administration and anything outside a tenant: the operator's alone, but for
      // the routes where a key asks about itself.
      if (principal.kind !== "operator" && !selfPaths.includes(c.req.path)) throw unauthorized();
      return next();
    }

    if (!isDnsLabel(tenantName)) {
      // The operator is told the name is malformed; a key learns nothing beyond "not yours".
      if (principal.kind === "key") throw unauthorized();
      throw new IsleError("validation_failed", "tenant: must be a DNS label: a-z, 0-9 and '-', at most 63 characters");
    }
    const tenant = await findTenantByName(db, tenantName);
    if (principal.kind === "key") {
      const { key } = principal;
      // Another tenant's path looks exactly like a bad key: no probing for tenant names.
      if (!tenant || tenant.id !== key.tenantId) throw unauthorized();
      const needed = defaultScope(c.req.method, segments);
      if (!hasScope(key, needed)) throw new IsleError("forbidden", `this key lacks the "${needed}" scope`);
      if (key.functionName !== null) checkFunctionRestriction(segments, c.req.method, key.functionName);
    }
    if (!tenant) throw new IsleError("not_found", "tenant not found");
    c.set("tenant", tenant);
    return next();
  };
}

/**
 * The scope a tenant route needs unless it asks for more: `read` to read, `deploy` to change;
 * dead letters hold requests made with `invoke` and re-run them, so they need `invoke`.
 */
function defaultScope(method: string, segments: string[]): Scope {
  if (segments[3] === "dead-letters" || (segments[3] === "invocations" && segments[5] === "retry")) return "invoke";
  return method === "GET" || method === "HEAD" ? "read" : "deploy";
}

/**
 * A key restricted to one function sees that function's paths as if no other existed, and may
 * list functions, invocations and the tenant's stats (routes narrow those lists to its function).
 */
function checkFunctionRestriction(segments: string[], method: string, functionName: string): void {
  const area = segments[3];
  const subject = segments[4];
  if (area === "functions" && subject !== undefined) {
    if (subject !== functionName) throw new IsleError("not_found", "function not found");
    return;
  }
  const listing = method === "GET" && (area === "functions" || area === "invocations" || area === "stats");
  if (!listing) throw new IsleError("forbidden", "this key is restricted to one function");
}

/** Route-level check for scopes above the default (keys and secrets need `admin`). */
export function requireScope(scope: Scope): MiddlewareHandler<GatewayEnv> {
  return async function requireScopeMiddleware(c, next) {
    const principal = c.get("principal");
    if (!principal) throw unauthorized(); // a route mounted outside /v1 by mistake fails closed
    if (principal.kind === "key" && !hasScope(principal.key, scope)) {
      throw new IsleError("forbidden", `this key lacks the "${scope}" scope`);
    }
    await next();
  };
}
