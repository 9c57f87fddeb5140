#!/usr/bin/env node
import { mkdirSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { CidrList } from "@isle/config";
import type { controlV1 } from "@isle/proto";
import { createLogger, startTracing } from "@isle/telemetry";
import { ArtifactCache } from "./artifact-cache.js";
import { loadConfig } from "./config.js";
import { AgentCommands } from "./agent-commands.js";
import { ControlPlanes } from "./control-planes.js";
import { controlPlaneCredentials, readAgentTls } from "./control-tls.js";
import { platformAddresses } from "./egress/platform-addresses.js";
import { EnvCache } from "./env-cache.js";
import { AgentMetrics } from "./metrics/agent-metrics.js";
import { startMetricsServer, type MetricsServer } from "./metrics/metrics-server.js";
import { LoadedFunctions } from "./loaded-functions.js";
import { deploymentOfIsolate, Quarantine } from "./quarantine.js";
import { ContainerRuntime } from "./runtimes/container/container-runtime.js";
import { containerSupportProblem } from "./runtimes/container/container-support.js";
import { RuntimeRouter } from "./runtimes/runtime-router.js";
import { WorkerdRuntime, type EgressSettings } from "./runtimes/workerd/index.js";
import { createAgentServer, createAgentState, untilIdle } from "./server.js";

const config = loadConfig(process.env);
const logger = createLogger({ service: "agent", level: config.logLevel }).child({ agentId: config.agentId });
const socketPath = resolve(config.socketPath);
// The OpenTelemetry SDK reads its own standard OTEL_* variables (endpoint, batching, sampler).
const tracing = startTracing("isle-agent", process.env);
for (const note of tracing.notes) logger.warn(note);

// An evicted deployment's artifact and env leave the caches once no loaded deployment uses them.
// Container replicas of the deployment stop (scale to zero stops containers). Its workerd isolate
// stays loaded: workerd never unloads one, and its memory comes back only when the process is
// recycled (ISLE_WORKERD_RECYCLE_MB, recycler.ts).
const loaded = new LoadedFunctions((_key, { isolates, unusedArtifacts, unusedEnvRefs }) => {
  for (const hash of unusedArtifacts) artifacts.forget(hash);
  for (const ref of unusedEnvRefs) envCache.forget(ref);
  runtime.evict(isolates.map((i) => i.isolateId)).catch((err: unknown) => logger.warn({ err: String(err) }, "evicting failed"));
});
const state = createAgentState(new Quarantine(), loaded);
const metrics = new AgentMetrics({
  inFlight: () => state.inFlight.count,
  workerdReady: () => runtime.status().ready,
  containers: () => runtime.containerStatus().ready,
  quarantined: () => state.quarantine.quarantinedCount(),
});
let metricsServer: MetricsServer | undefined;
const control: ControlPlanes = new ControlPlanes({
  addresses: config.controlAddresses,
  credentials: controlPlaneCredentials(readAgentTls(config.tls, config.agentId)),
  logger,
  report: (): controlV1.AgentReport => ({
    agentId: config.agentId,
    address: config.advertiseAddress,
    capacity: config.capacity,
    inFlight: state.inFlight.count,
    loaded: state.loaded.report(),
    sentAtUnixMs: Date.now(),
    draining: state.draining,
    workerdReady: runtime.status().ready,
  }),
  onCommand: (command, from) => commands.handle(command, from),
});
const artifacts = new ArtifactCache((hash: string): Promise<Buffer> => control.fetchArtifact(hash), config.artifactCacheBytes);
const envCache = new EnvCache((tenantId, functionId) => control.fetchEnv(tenantId, functionId));
const isolates: WorkerdRuntime = new WorkerdRuntime({
  processes: config.workerdProcesses,
  memoryLimitMb: config.workerdMemoryMb,
  ...(config.workerdRecycleMb === undefined ? {} : { recycleBytes: config.workerdRecycleMb * 1024 * 1024 }),
  onRecycle: () => metrics.workerdRecycled(),
  workDir: resolve(config.workDir),
  artifacts,
  env: envCache,
  onRunaway: (isolateId) => {
    metrics.watchdogKill();
    const deployment = deploymentOfIsolate(isolateId);
    if (deployment && state.quarantine.strike(deployment.tenantId, deployment.deploymentId)) {
      logger.warn(deployment, "deployment quarantined after repeated runaway requests");
    }
  },
  egress: egressSettings(),
  logger,
  debugConfig: config.debugWorkerdConfig,
});
const noContainers = config.containers.mode === "off" ? "ISLE_CONTAINERS=off" : containerSupportProblem(resolve(config.containers.rootfsDir));
const containers = noContainers
  ? undefined
  : new ContainerRuntime({
      workDir: resolve(config.workDir, "containers"),
      rootfsDir: resolve(config.containers.rootfsDir),
      artifacts,
      env: envCache,
      logger,
      defaults: { cpu: config.containers.cpu, pidsMax: config.containers.pidsMax },
    });
const runtime = new RuntimeRouter({ isolates, containers, noContainersReason: noContainers, artifacts, env: envCache });

/** The egress policy from the config, with the platform's own addresses refused. */
function egressSettings(): EgressSettings {
  const { allow, deny, gatewayUrl, publicUrl, domain } = config.egress;
  const own = platformAddresses([...config.controlAddresses, config.advertiseAddress, gatewayUrl.href]);
  return {
    allow,
    deny: new CidrList([...deny.entries, ...own]),
    gatewayUrl,
    gatewayOrigins: [...new Set([gatewayUrl.origin, ...(publicUrl ? [publicUrl.origin] : [])])],
    domain,
    onRefused: (code) => metrics.egressRefused(code),
  };
}
// A drain state change goes to the control planes at once, not at the next heartbeat.
const commands = new AgentCommands({
  runtime,
  state,
  logger,
  currentEnvRef: (tenantId, functionId) => envCache.current(tenantId, functionId),
  onDrainChange: () => control.reportNow(),
});
const server = createAgentServer({ agentId: config.agentId, runtime, state, logger, metrics, tracing, commands });

async function main(): Promise<void> {
  if (noContainers && config.containers.mode === "on") throw new Error(`ISLE_CONTAINERS=on but ${noContainers}`);
  if (noContainers) logger.info({ reason: noContainers }, "container functions are off on this agent");
  await runtime.start();
  mkdirSync(dirname(socketPath), { recursive: true });
  rmSync(socketPath, { force: true }); // a socket file left by a killed agent
  await new Promise<void>((done, fail) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? fail(err) : done())),
  );
  if (config.metrics) metricsServer = await startMetricsServer({ ...config.metrics, metrics, logger });
  control.start();
  logger.info(
    {
      socket: socketPath,
      processes: config.workerdProcesses,
      containers: containers ? resolve(config.containers.rootfsDir) : "off",
      metrics: metricsServer ? `http://${config.metrics?.host}:${metricsServer.port}/metrics` : "off",
    },
    "agent listening",
  );
}

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, inFlight: state.inFlight.count }, "agent stopping");
  // Out of placement within one report, then the running invocations finish
  // (bounded): a stop is a scale-down, not a failure, for the clients.
  commands.drain(false);
  if (!(await untilIdle(state, config.drainTimeoutMs))) {
    logger.warn({ inFlight: state.inFlight.count, drainTimeoutMs: config.drainTimeoutMs }, "stopping with invocations still in flight");
  }
  control.stop();
  server.forceShutdown();
  await metricsServer?.close();
  await runtime.stop();
  await tracing.shutdown().catch(() => undefined);
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

main().catch(async (err: unknown) => {
  logger.fatal({ err: err instanceof Error ? err.message : String(err) }, "agent failed to start");
  await runtime.stop().catch(() => undefined);
  process.exit(1);
});
