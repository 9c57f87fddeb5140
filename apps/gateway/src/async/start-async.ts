import { saveInvocation, saveInvocationCallback, type Database } from "@isle/db";
import { createQueue } from "@isle/queue";
import type { Logger } from "@isle/telemetry";
import type { AsyncInvokeSetup } from "../app.js";
import type { GatewayConfig } from "../config.js";
import type { CallTokens } from "../invoke/call-token.js";
import type { Placer } from "../scaling/placer.js";
import type { Invoker } from "../invoke/sidecar-invoker.js";
import type { TargetResolver } from "../invoke/target-resolver.js";
import type { LogFeed } from "../logs/log-feed.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { Scheduler } from "../schedules/scheduler.js";
import { CallbackSender } from "./callback-sender.js";
import { AsyncDispatcher } from "./dispatcher.js";

export interface StartAsyncDeps {
  config: GatewayConfig["async"];
  /** Functions' cron schedules, whose ticks this gateway's scheduler enqueues. */
  schedules: GatewayConfig["schedules"];
  /** ISLE_DOMAIN: the host a schedule's tick is addressed to. */
  domain: string | undefined;
  database: Database;
  resolver: TargetResolver;
  placer: Placer;
  invoker: Invoker;
  metrics: GatewayMetrics;
  logger: Logger;
  callTokens: CallTokens;
  /** Followers of live logs get each async attempt's output from here. */
  logFeed?: LogFeed;
}

/**
 * Async invocations on this gateway: the queue (JetStream when NATS_URL is set, else the
 * database's table), the dispatcher consuming it, the callback sender, and the scheduler that
 * enqueues schedules' ticks. `stop` stops the scheduler, drains the dispatcher (running
 * deliveries get up to 10 s; the rest come back after their visibility timeout) and then closes
 * the queue.
 */
export function startAsync(deps: StartAsyncDeps): { setup: AsyncInvokeSetup; stop: () => Promise<void> } {
  const { config, database, logger } = deps;
  const queue = createQueue({
    natsUrl: config.natsUrl,
    database,
    name: config.queueName,
    maxAttempts: config.maxAttempts,
    visibilityTimeoutMs: config.visibilityMs,
    backoff: { baseMs: config.backoffMs },
    onError: (err) => logger.warn({ err }, "async queue"),
  });
  const saveRecord = (row: Parameters<typeof saveInvocation>[1]) => saveInvocation(database.db, row);
  // Each callback's outcome joins its invocation's record, for the tenant to see.
  const callbacks = new CallbackSender({
    allow: config.callbackAllow,
    logger,
    onDone: (result, outcome) => saveInvocationCallback(database.db, result.tenantId, result.invocationId, outcome),
  });
  const dispatcher = new AsyncDispatcher({ ...deps, queue, saveRecord, callbacks, concurrency: config.concurrency,
    extendEveryMs: Math.floor(config.visibilityMs / 3),
  });
  dispatcher.start();
  const scheduler = new Scheduler({
    db: database.db,
    queue,
    saveRecord,
    logger,
    catchUpMs: deps.schedules.catchUpMs,
    pollMs: deps.schedules.pollMs,
    domain: deps.domain,
    metrics: deps.metrics,
  });
  scheduler.start();
  return {
    setup: { queue, saveRecord, callbackAllow: config.callbackAllow },
    stop: async () => {
      await scheduler.stop();
      await dispatcher.stop();
      await queue.close();
    },
  };
}
