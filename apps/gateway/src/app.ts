import { Hono } from "hono";
import type { IsleDb } from "@isle/db";
import type { Logger } from "@isle/telemetry";
import type { Membership } from "./control/membership.js";
import type { GatewayEnv } from "./env.js";
import type { ApiKeyVerifier } from "./auth/api-keys.js";
import type { InvocationRecorder } from "./invoke/invocation-recorder.js";
import type { Invoker } from "./invoke/sidecar-invoker.js";
import type { TargetResolver } from "./invoke/target-resolver.js";
import { errorHandler, notFoundHandler } from "./middleware/errors.js";
import { operatorAuth } from "./middleware/operator-auth.js";
import { requestId } from "./middleware/request-id.js";
import { registerCreateDeployment, type DeployLimits } from "./routes/deployments/create.js";
import { registerPutFunction } from "./routes/functions/put.js";
import { registerHealth, type Readiness } from "./routes/health/health.js";
import { registerInvoke } from "./routes/invoke/invoke.js";
import { registerCreateTenant } from "./routes/tenants/create.js";

export interface AppDeps {
  db: IsleDb;
  resolver: TargetResolver;
  membership: Membership;
  invoker: Invoker;
  verifier: ApiKeyVerifier;
  recorder: InvocationRecorder;
  domain: string | undefined;
  readiness: Readiness;
  adminToken: string;
  limits: DeployLimits;
  logger: Logger;
}

/** Builds the gateway's HTTP app from its dependencies; never listens (main.ts does). */
export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.onError(errorHandler(deps.logger));
  app.notFound(notFoundHandler);

  // Invoke routes come first: they name requests by their invocation id and
  // skip the middleware below, which is for everything else.
  registerInvoke(app, deps);
  registerHealth(app, deps.readiness);
  app.use(requestId());

  // Until tenant API keys exist, the management API is the operator's alone.
  app.use("/v1/*", operatorAuth(deps.adminToken));
  registerCreateTenant(app, deps.db);
  registerPutFunction(app, deps.db, deps.resolver);
  registerCreateDeployment(app, deps.db, deps.resolver, deps.limits);
  return app;
}
