import type { Hono } from "hono";
import type { IsleDb } from "@isle/db";
import type { Logger, Tracing } from "@isle/telemetry";
import type { Membership } from "./control/membership.js";
import type { GatewayEnv } from "./env.js";
import type { ApiKeyVerifier } from "./auth/api-keys.js";
import type { CallTokens } from "./invoke/call-token.js";
import type { InvocationRecorder } from "./invoke/invocation-recorder.js";
import type { OutlierDetector } from "./invoke/outlier-detector.js";
import type { RateDefaults } from "./rate-limit/invoke-rate-limit.js";
import type { RateLimiter } from "./rate-limit/rate-limiter.js";
import type { Invoker } from "./invoke/sidecar-invoker.js";
import type { TargetResolver } from "./invoke/target-resolver.js";
import { accessLog } from "./middleware/access-log.js";
import { apiAuth } from "./middleware/api-auth.js";
import { maxBody } from "./middleware/body-size.js";
import { errorHandler, notFoundHandler } from "./middleware/errors.js";
import { requestId } from "./middleware/request-id.js";
import { GatewayMetrics, type GatewayGaugeSources } from "./metrics/gateway-metrics.js";
import { createApiApp } from "./routes/api.js";
import type { DeployLimits } from "./routes/deployments/create.js";
import { openApiPath } from "./routes/docs/openapi-document.js";
import { register as registerDocs } from "./routes/docs/reference.js";
import { registerHealth, type Readiness } from "./routes/health/health.js";
import { registerManagement } from "./routes/index.js";
import { registerAsyncInvoke, type AsyncInvokeDeps } from "./routes/invoke/async.js";
import { registerInvoke } from "./routes/invoke/invoke.js";
import { everyAgentIsAReplica, Placer } from "./scaling/placer.js";
import { registerMetrics } from "./routes/metrics/metrics.js";
import { whoamiPath } from "./routes/whoami/get.js";
import type { SecretBox } from "./secrets/secret-box.js";
import { registerGit, type GitServer } from "./routes/git/git.js";
import { defaultConsoleDir } from "./console/console-files.js";
import { registerConsole } from "./console/serve-console.js";

export interface AppDeps {
  db: IsleDb;
  resolver: TargetResolver;
  membership: Membership;
  /**
   * Places invocations on the function's replicas (the scaler's counts) and
   * holds requests of a function starting from zero; default: every healthy
   * agent is a replica of every function, with no scaler.
   */
  placer?: Placer;
  invoker: Invoker;
  /**
   * Checks tenant API keys, for /v1 and for invokes: one instance, so a
   * revocation on this gateway is forgotten by both at once.
   */
  verifier: ApiKeyVerifier;
  recorder: InvocationRecorder;
  domain: string | undefined;
  readiness: Readiness;
  adminToken: string;
  limits: DeployLimits;
  logger: Logger;
  /** Server spans of invokes; off when absent. */
  tracing?: Tracing;
  /** Seals function secrets before they are stored. */
  secretBox: SecretBox;
  /** Signs and checks function-to-function call tokens. */
  callTokens: CallTokens;
  /** Prometheus metrics; default: a fresh set whose gauges read `membership`. */
  metrics?: GatewayMetrics;
  /** ISLE_METRICS_TOKEN: a Bearer credential for /metrics alone. */
  metricsToken?: string | undefined;
  /** Circuit breakers of nodes and of functions on nodes; the invoker reports to the same one. */
  outliers: OutlierDetector;
  /** Invoke rate limits per tenant and per key: in memory, or Redis when configured. */
  rateLimiter: RateLimiter;
  rateDefaults: RateDefaults;
  /** Async invokes (`POST /async/...`) and dead letters; without it those routes are absent or 503. */
  async?: AsyncInvokeSetup;
  /** Limits on functions' schedules; default: at most one run a minute. */
  schedules?: { minIntervalSeconds: number };
  /** Git smart HTTP at /git/:tenant/:function.git; absent: no such routes. */
  git?: GitServer;
  /** The built web console served at /console (ISLE_CONSOLE_DIR); default: the @isle/console package's dist. */
  consoleDir?: string | undefined;
}

/** What the async route needs beyond the sync one's dependencies. */
export type AsyncInvokeSetup = Pick<AsyncInvokeDeps, "queue" | "saveRecord" | "callbackAllow" | "lookup">;

/**
 * A fresh set of the gateway's metrics whose gauges read `membership` and
 * `outliers`, and the scaler's state when given (without it, each agent counts
 * as one replica).
 */
export function gatewayMetrics(membership: Membership, outliers: OutlierDetector, scaling?: Pick<GatewayGaugeSources, "replicas" | "scalerLeader" | "activationWaiting">): GatewayMetrics {
  return new GatewayMetrics({
    healthyAgents: () => membership.healthy().length,
    replicas: () => membership.all().length,
    ejected: () => outliers.ejected().length,
    ...scaling,
  });
}

/** Builds the gateway's HTTP app from its dependencies; never listens (main.ts does). */
export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const app = createApiApp();
  app.onError(errorHandler(deps.logger));
  app.notFound(notFoundHandler);
  const { verifier, membership } = deps;
  const metrics = deps.metrics ?? gatewayMetrics(membership, deps.outliers);

  // Invoke routes come first: they name requests by their invocation id and
  // skip the middleware below, which is for everything else.
  const placer = deps.placer ?? new Placer(membership, deps.outliers, everyAgentIsAReplica);
  registerInvoke(app, { ...deps, metrics, placer });
  if (deps.async) registerAsyncInvoke(app, { ...deps, ...deps.async, metrics });
  registerHealth(app, deps.readiness);
  app.use(requestId());
  registerMetrics(app, { metrics, adminToken: deps.adminToken, metricsToken: deps.metricsToken });
  registerDocs(app);
  registerConsole(app, { dir: deps.consoleDir ?? defaultConsoleDir(), logger: deps.logger });
  if (deps.git) registerGit(app, { db: deps.db, verifier, git: deps.git });

  // Every /v1 route is authorised here, before routing, so none can forget to be.
  app.use("/v1/*", accessLog(deps.logger));
  app.use("/v1/*", apiAuth({ adminToken: deps.adminToken, verifier, db: deps.db, publicPaths: [openApiPath], selfPaths: [whoamiPath] }));
  // After authorisation, so a stranger's oversized request is a 401 like any other.
  app.use("/v1/*", maxBody(deps.limits.maxUploadBytes));
  registerManagement(app, {
    db: deps.db,
    resolver: deps.resolver,
    verifier,
    secretBox: deps.secretBox,
    limits: deps.limits,
    queue: deps.async?.queue,
    logFeed: deps.recorder.feed,
    schedules: deps.schedules ?? { minIntervalSeconds: 60 },
    membership,
  });
  return app;
}
