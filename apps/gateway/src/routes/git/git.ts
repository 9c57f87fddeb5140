import type { Context, Hono } from "hono";
import { findFunction, findTenantByName, isDnsLabel, type IsleDb } from "@isle/db";
import { IsleError, errorBody } from "@isle/errors";
import { hasScope, type ApiKeyVerifier } from "../../auth/api-keys.js";
import type { GatewayEnv } from "../../env.js";
import type { GitRequest } from "../../git/git-service.js";
import { saveFunction } from "../functions/views.js";

/** What serves an authorised git request (GitService; a fake in route tests). */
export interface GitServer {
  serve(req: GitRequest): Promise<Response>;
}

export interface GitRouteDeps {
  db: IsleDb;
  verifier: ApiKeyVerifier;
  git: GitServer;
}

/** The smart-HTTP endpoints git uses; the dumb protocol's files are not served. */
const actions = new Set(["info/refs", "git-upload-pack", "git-receive-pack"]);

/**
 * `/git/:tenant/:function.git/…`: the function's repository over git's smart HTTP. The
 * password (any user name) is an API key of the tenant: `deploy` scope to push, `read` (or
 * `deploy`) to fetch. No or a bad key is 401 with a Basic challenge, so git asks for one;
 * another tenant's repository, or another function than a restricted key's, is 404 like a
 * missing one. The first push creates the function (within the tenant's quota).
 */
export function registerGit(app: Hono<GatewayEnv>, { db, verifier, git }: GitRouteDeps): void {
  app.all("/git/:tenant/:repo/*", async (c) => {
    const tenantName = c.req.param("tenant");
    const functionName = c.req.param("repo").replace(/\.git$/, "");
    const prefix = `/git/${c.req.param("tenant")}/${c.req.param("repo")}/`;
    const action = c.req.path.startsWith(prefix) ? c.req.path.slice(prefix.length) : "";
    const service = action === "info/refs" ? c.req.query("service") : action;
    if (!actions.has(action) || (service !== "git-upload-pack" && service !== "git-receive-pack")) {
      throw new IsleError("not_found", "only git's smart HTTP protocol is served");
    }

    const key = await verifier.verify(basicPassword(c.req.header("authorization")));
    if (!key) return challenge(c);
    const tenant = isDnsLabel(tenantName) ? await findTenantByName(db, tenantName) : undefined;
    const notFound = new IsleError("not_found", "repository not found");
    if (!tenant || tenant.id !== key.tenantId || !isDnsLabel(functionName)) throw notFound;
    if (key.functionName !== null && key.functionName !== functionName) throw notFound;
    const pushing = service === "git-receive-pack";
    if (pushing ? !hasScope(key, "deploy") : !hasScope(key, "read") && !hasScope(key, "deploy")) {
      throw new IsleError("forbidden", `this key lacks the "${pushing ? "deploy" : "read"}" scope`);
    }
    let fn = await findFunction(db, tenant.id, functionName);
    if (!fn && pushing) fn = await saveFunction(db, tenant, functionName, {});
    if (!fn) throw notFound;

    const url = new URL(c.req.url);
    return git.serve({
      tenant,
      fn,
      keyId: key.id,
      action,
      query: url.search.slice(1),
      request: c.req.raw,
      remoteAddr: undefined,
      origin: url.origin,
    });
  });
}

/** The password of `Authorization: Basic …` (git sends the key there), or a Bearer token. */
function basicPassword(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
  if (!basic) return undefined;
  const decoded = Buffer.from(basic, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

function challenge(c: Context<GatewayEnv>): Response {
  const error = new IsleError("unauthorized", "an API key of the tenant is required as the password");
  return c.json(errorBody(error, c.get("requestId") ?? "unknown"), 401, { "www-authenticate": 'Basic realm="isle", charset="UTF-8"' });
}
