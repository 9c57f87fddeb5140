#!/usr/bin/env node
import { serve } from "@hono/node-server";
import { join } from "node:path";
import { appendInvocationLogs, findApiKeyById, getArtifact, openDatabase, recordInvocations } from "@isle/db";
import { createLogger, startTracing } from "@isle/telemetry";
import { sql } from "drizzle-orm";
import { resolveAdminToken } from "./admin-token.js";
import { createApp, gatewayMetrics } from "./app.js";
import { ApiKeyVerifier } from "./auth/api-keys.js";
import { loadConfig } from "./config.js";
import { createControlServer } from "./control/control-server.js";
import { controlHosts, controlServerCredentials } from "./control/control-tls.js";
import { DbEnvStore } from "./control/env-store.js";
import { Membership } from "./control/membership.js";
import { OutlierDetector } from "./invoke/outlier-detector.js";
import { SidecarInvoker } from "./invoke/sidecar-invoker.js";
import { gatewayTls } from "./pki/gateway-identity.js";
import { InvocationRecorder } from "./invoke/invocation-recorder.js";
import { recordLines } from "./logs/log-lines.js";
import { LogRelay } from "./logs/log-relay.js";
import { CachedTargetResolver, resolveTarget } from "./invoke/target-resolver.js";
import { SecretBox } from "./secrets/secret-box.js";
import { resolveSecretsKey } from "./secrets/secrets-key.js";
import { CallTokens } from "./invoke/call-token.js";
import { createRateLimiter } from "./rate-limit/create-rate-limiter.js";
import { startAsync } from "./async/start-async.js";
import { RecordRetentionJob } from "./records/retention-job.js";
import { GitService } from "./git/git-service.js";
import { Placer } from "./scaling/placer.js";
import { ReplicaTable } from "./scaling/replica-table.js";
import { ScalerLoop } from "./scaling/scaler-loop.js";

/** The composition root: builds the real dependencies and starts listening. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ service: "gateway", level: config.logLevel });
  // The OpenTelemetry SDK reads its own standard OTEL_* variables (endpoint, batching, sampler).
  const tracing = startTracing("isle-gateway", process.env);
  for (const note of tracing.notes) logger.warn(note);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const { db } = database;
  const admin = resolveAdminToken(config.adminToken, config.dataDir);
  const secretsKey = resolveSecretsKey(config.secretsKey, config.dataDir);

  const membership = new Membership();
  const callTokens = new CallTokens(secretsKey.key);
  const secretBox = new SecretBox(secretsKey.key);
  const envStore = new DbEnvStore(db, secretBox);
  // One verifier for /v1 and invokes, so a revocation here is forgotten by both at once.
  const verifier = new ApiKeyVerifier((id) => findApiKeyById(db, id));
  const tls = await gatewayTls(config.dataDir, controlHosts(config.controlHost, config.controlNames));
  const control = createControlServer({ membership, artifacts: { get: (hash) => getArtifact(db, hash) }, env: envStore, logger });
  const controlPort = await new Promise<number>((done, fail) =>
    control.bindAsync(`${config.controlHost}:${config.controlPort}`, controlServerCredentials(tls), (err, port) =>
      err ? fail(err) : done(port),
    ),
  );

  const outliers = new OutlierDetector({
    onEject: (target, ejectMs) => logger.warn({ target, ejectMs }, "ejected a failing node (or a function on it) from placement"),
  });
  const invoker = new SidecarInvoker(tls, outliers, (late) =>
    recorder.appendLogs(late.tenantId, late.invocationId, recordLines(late.logs)),
  );
  const recorder = new InvocationRecorder((rows) => recordInvocations(db, rows), logger, { appendLogs: (rows) => appendInvocationLogs(db, rows) });
  // Several gateways share one Postgres: live-log followers on each see what every one records.
  const logRelay = database.kind === "postgres" ? new LogRelay({ database, feed: recorder.feed, logger }) : undefined;
  await logRelay?.start();
  const rateLimiter = await createRateLimiter(config.redisUrl, logger);
  const resolver = new CachedTargetResolver((tenant, fn, branch) => resolveTarget(db, tenant, fn, branch));
  const replicas = new ReplicaTable(db, logger);
  await replicas.start();
  const placer = new Placer(membership, outliers, replicas, { bufferPerFunction: config.scaling.activationBuffer });
  const { targetConcurrency, scaleToZeroAfterMs, maxReplicas, stableWindowMs, panicWindowMs } = config.scaling;
  const scaler = new ScalerLoop({
    database,
    membership,
    replicas,
    buffered: () => placer.buffered(),
    logger,
    defaults: { targetConcurrency, scaleToZeroAfterMs, maxReplicas, stableWindowMs, panicWindowMs },
    tenantMaxReplicas: config.scaling.tenantMaxReplicas,
    tickMs: config.scaling.tickMs,
  });
  scaler.start();
  const metrics = gatewayMetrics(membership, outliers, {
    replicas: () => replicas.scaled().reduce((sum, count) => sum + count.replicas, 0),
    scalerLeader: () => (scaler.isLeader ? 1 : 0),
    activationWaiting: () => [...placer.buffered().values()].reduce((sum, n) => sum + n, 0),
  });
  const limits = { maxUploadBytes: config.maxUploadBytes, maxBundleBytes: config.maxBundleBytes, buildCacheDir: join(config.dataDir, "build-cache") };
  const git = await GitService.start({
    root: join(config.dataDir, "git"),
    maxPackBytes: config.maxPackBytes,
    maxSourceBytes: config.maxUploadBytes,
    db,
    resolver,
    limits,
    schedules: { minIntervalSeconds: config.schedules.minIntervalSeconds },
    domain: config.domain,
    logger,
  });
  const asyncParts = startAsync({ config: config.async, schedules: config.schedules, domain: config.domain, database, resolver, placer, invoker, metrics, logger, callTokens, logFeed: recorder.feed });
  const app = createApp({
    db,
    resolver,
    membership,
    placer,
    invoker,
    verifier,
    recorder,
    domain: config.domain,
    readiness: { database: async () => void (await db.execute(sql`select 1`)), healthyAgents: () => membership.healthy().length },
    adminToken: admin.token,
    limits,
    git,
    logger,
    tracing,
    secretBox,
    callTokens,
    metrics,
    async: asyncParts.setup,
    schedules: { minIntervalSeconds: config.schedules.minIntervalSeconds },
    metricsToken: config.metricsToken,
    consoleDir: config.consoleDir,
    outliers,
    rateLimiter,
    rateDefaults: config.rateDefaults,
  });
  const retention = new RecordRetentionJob({ database, defaultHours: config.recordRetentionHours, logger, onDeleted: (n) => metrics.recordsDeleted.inc(n) });
  retention.start();
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
    logger.info(
      { url: `http://${info.address}:${info.port}`, control: `${config.controlHost}:${controlPort}`, database: database.kind },
      "gateway listening",
    );
    if (admin.created) logger.info("operator token created in the data directory (admin-token)");
    // With several gateways, each generating its own key would make secrets unreadable elsewhere.
    if (secretsKey.created) logger.warn("secrets key created in the data directory (secrets-key); set ISLE_SECRETS_KEY on every gateway to share it");
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "gateway stopping");
    server.close();
    await git.close();
    await asyncParts.stop();
    await retention.stop();
    await scaler.stop();
    await replicas.stop();
    control.forceShutdown();
    invoker.close();
    await rateLimiter.close();
    await recorder.flush();
    await logRelay?.stop();
    await database.close();
    await tracing.shutdown().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  // Startup failures (bad config, locked data directory) are the operator's to fix: say what, not a stack.
  console.error(`isle gateway: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
