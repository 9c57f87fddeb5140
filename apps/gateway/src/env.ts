import type { Tenant } from "@isle/db";
import type { VerifiedKey } from "./auth/api-keys.js";

/** Who is calling the management API: the operator, or a tenant's API key. */
export type Principal = { kind: "operator" } | { kind: "key"; key: VerifiedKey };

/** Per-request values the gateway's middleware sets on the Hono context. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    /** Set on invoke routes; echoed as x-isle-invocation-id on every answer. */
    invocationId: string | undefined;
    /** Set by apiAuth on every /v1 route except the public OpenAPI document. */
    principal: Principal;
    /** Set by apiAuth on tenant-scoped /v1 routes: the tenant the caller may act on. */
    tenant: Tenant;
  };
}
