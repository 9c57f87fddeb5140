import type { InvocationLogLine, NewInvocation } from "@isle/db";
import { IsleError } from "@isle/errors";
import type { Delivery, HandlerVerdict, InvocationQueue, QueueConsumer } from "@isle/queue";
import { traceIdOf, type Logger } from "@isle/telemetry";
import { signCallToken, type CallTokens } from "../invoke/call-token.js";
import type { Placer } from "../scaling/placer.js";
import type { Invoker } from "../invoke/sidecar-invoker.js";
import type { agentV1 } from "@isle/proto";
import type { TargetResolver } from "../invoke/target-resolver.js";
import type { LogFeed } from "../logs/log-feed.js";
import { recordLines } from "../logs/log-lines.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { buildRequestHead } from "../routes/invoke/request-head.js";
import { chooseDeployment } from "../routes/invoke/traffic.js";
import { parseAsyncPayload, type AsyncPayload } from "./async-payload.js";
import type { CallbackSender } from "./callback-sender.js";

export interface DispatcherDeps {
  queue: InvocationQueue;
  resolver: TargetResolver;
  /** Places each delivery on one of the function's replicas, starting it from zero when it has none. */
  placer: Placer;
  invoker: Invoker;
  callTokens: CallTokens;
  /** Writes an attempt's record at once (see saveInvocation in @isle/db). */
  saveRecord: (row: NewInvocation) => Promise<void>;
  metrics: GatewayMetrics;
  callbacks: CallbackSender;
  logger: Logger;
  /** Followers of live logs get each attempt's output from here. */
  logFeed?: LogFeed;
  /** Deliveries run at once by this gateway. Default 16. */
  concurrency?: number;
  /** How often a running delivery's lease is extended; under the queue's visibility timeout. Default 10 s. */
  extendEveryMs?: number;
  /**
   * How long a delivery waits for an agent before its attempt counts as failed: after a
   * gateway restart the agents take a moment to reconnect. Default 5 s.
   */
  agentWaitMs?: number;
  /** How often the queue-depth gauge is refreshed. Default 5 s. */
  depthEveryMs?: number;
}

/** The answer of one attempt, as far as retrying is concerned. */
interface AttemptResult {
  status: number;
  errorCode: string | undefined;
  headers: Array<[string, string]>;
  body: Uint8Array<ArrayBuffer>;
  coldStart: boolean;
  agentId: string | null;
  retryAfterMs: number | undefined;
  /** What the function wrote during the attempt (its trailer's lines). */
  logs: InvocationLogLine[];
}

/**
 * Runs queued async invocations through the same path as a sync invoke (target, deployment,
 * placement, sidecar), one record per invocation id updated by each attempt. An answer below
 * 500 other than 429 settles the invocation (a function's 4xx is its answer, not a fault);
 * 5xx, 429, timeouts and "no agent" are retried with the queue's backoff and then
 * dead-lettered. The callback, when asked for, is sent once the outcome is settled. The
 * record carries the output of its latest attempt.
 */
export class AsyncDispatcher {
  private consumer: QueueConsumer | undefined;
  private depthTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DispatcherDeps) {}

  start(): void {
    const { queue, metrics, logger } = this.deps;
    this.consumer = queue.consume((delivery) => this.handle(delivery), { concurrency: this.deps.concurrency ?? 16 });
    const refresh = () =>
      queue.depth().then(
        (n) => metrics.queueDepth.set(n),
        (err: unknown) => logger.debug({ err }, "queue depth not read"),
      );
    void refresh();
    this.depthTimer = setInterval(refresh, this.deps.depthEveryMs ?? 5000);
    this.depthTimer.unref();
  }

  /** Stops taking deliveries; those still running after `drainMs` come back to another gateway. */
  async stop(drainMs = 10_000): Promise<void> {
    clearInterval(this.depthTimer);
    await this.consumer?.stop({ drainMs });
    await this.deps.callbacks.drain(Math.min(drainMs, 5000));
  }

  /** One delivery: exported for tests through `start`'s handler. */
  async handle(delivery: Delivery): Promise<HandlerVerdict | void> {
    const { logger } = this.deps;
    let payload: AsyncPayload;
    try {
      payload = parseAsyncPayload(delivery.payload);
    } catch (err) {
      return { outcome: "dead", error: err instanceof Error ? err.message : String(err) };
    }
    const target = await this.deps.resolver.resolve(payload.tenantName, payload.functionName);
    // A schedule's tick is a timer invocation in its record, its request head and its spans.
    const trigger = payload.trigger === "timer" ? "timer" : "queue";
    // Each attempt's head carries the caller's trace context (async invocations have no gateway span yet).
    const traceId = traceIdOf(payload.trace.traceparent);
    const base = { id: delivery.id, tenantId: delivery.tenantId, functionId: delivery.functionId, mode: "async" as const, trigger, attempt: delivery.attempt, traceId };
    const started = Date.now();
    if (!target || target.functionId !== delivery.functionId) {
      await this.save({ ...base, status: "dead", httpStatus: 404, errorCode: "not_found", startedAt: new Date(started), durationMs: 0 });
      return { outcome: "dead", error: "the function no longer exists" };
    }
    const chosen = chooseDeployment(target, Math.random());
    const head = buildRequestHead({
      target: { ...target, ...chosen },
      invocationId: delivery.id,
      method: payload.method,
      path: `${payload.path}${payload.query}`,
      host: payload.host,
      headers: payload.headers,
      clientIp: payload.clientIp,
      hasBody: payload.body !== null,
      nowMs: started,
      attempt: delivery.attempt,
      trigger,
      ...(payload.schedule ? { schedule: payload.schedule } : {}),
    });
    head.trace = payload.trace;
    const last = delivery.attempt >= delivery.maxAttempts;

    const result = await this.attempt(delivery, head, payload, target.tenantId, chosen.deploymentId, base, started);
    const retry = result.status >= 500 || result.status === 429;
    const durationMs = Date.now() - started;
    const status = retry ? (last ? "dead" : "retrying") : result.errorCode ? "failed" : "succeeded";
    await this.save({
      ...base,
      deploymentId: chosen.deploymentId,
      agentId: result.agentId,
      status,
      httpStatus: result.status,
      coldStart: result.coldStart,
      errorCode: result.errorCode ?? null,
      startedAt: new Date(started),
      durationMs,
      logs: result.logs,
    });
    this.deps.logFeed?.publish({ tenantId: delivery.tenantId, functionId: delivery.functionId, invocationId: delivery.id, status, lines: result.logs });
    this.deps.metrics.invocation(target.tenantName, target.functionName, result.status, result.errorCode, result.coldStart, durationMs);
    if (payload.callbackUrl && (!retry || last)) {
      const { status: httpStatus, headers, body } = result;
      this.deps.callbacks.send(payload.callbackUrl, { invocationId: delivery.id, tenantId: delivery.tenantId, attempt: delivery.attempt, status: httpStatus, headers, body, durationMs });
    }
    if (!retry) return;
    logger.info({ invocationId: delivery.id, tenantId: delivery.tenantId, attempt: delivery.attempt, status: result.status, errorCode: result.errorCode }, "async attempt failed");
    const error = `attempt ${delivery.attempt} answered ${result.status}${result.errorCode ? ` (${result.errorCode})` : ""}`;
    return { outcome: "retry", error, ...(result.retryAfterMs !== undefined ? { delayMs: result.retryAfterMs } : {}) };
  }

  /** Places and runs one attempt, keeping the delivery's lease alive while it runs. */
  private async attempt(
    delivery: Delivery,
    head: ReturnType<typeof buildRequestHead>,
    payload: AsyncPayload,
    tenantId: string,
    deploymentId: string,
    base: Pick<NewInvocation, "id" | "tenantId" | "functionId" | "mode" | "trigger" | "attempt" | "traceId">,
    started: number,
  ): Promise<AttemptResult> {
    const none = { headers: [], body: new Uint8Array(), coldStart: false, retryAfterMs: undefined };
    // The trailer's lines arrive before the outcome or the failure settles.
    let logs: InvocationLogLine[] = [];
    const onLogs = (lines: agentV1.LogLine[]) => (logs = recordLines(lines));
    const agent = await this.waitForAgent(delivery.tenantId, delivery.functionId);
    if (!agent) return { ...none, status: 503, errorCode: "unavailable", agentId: null, logs };
    head.callToken = signCallToken(this.deps.callTokens, head, tenantId, 1);
    await this.save({ ...base, deploymentId, agentId: agent.agentId, status: "running", startedAt: new Date(started) });
    const ticker = setInterval(() => void delivery.extend().catch(() => undefined), this.deps.extendEveryMs ?? 10_000);
    try {
      const body = payload.body === null ? null : once(Buffer.from(payload.body, "base64"));
      const { response, coldStart, outcome } = await this.deps.invoker.invoke(agent, { head, body, onClientGone: () => undefined, onLogs });
      const bytes = new Uint8Array(await response.arrayBuffer());
      const { errorCode } = await outcome;
      return {
        status: response.status,
        errorCode,
        headers: [...response.headers],
        body: bytes,
        coldStart,
        agentId: agent.agentId,
        retryAfterMs: retryAfterMs(response.headers.get("retry-after")),
        logs,
      };
    } catch (err) {
      if (!(err instanceof IsleError)) throw err;
      return { ...none, status: err.status, errorCode: err.code, agentId: agent.agentId, logs };
    } finally {
      clearInterval(ticker);
    }
  }

  private async waitForAgent(tenantId: string, functionId: string) {
    const place = { tenantId, functionId, deadlineMs: Date.now() + (this.deps.agentWaitMs ?? 5000) };
    return this.deps.placer.placeNow(place) ?? (await this.deps.placer.place(place).catch(() => undefined));
  }

  private async save(row: NewInvocation): Promise<void> {
    await this.deps.saveRecord(row).catch((err: unknown) => this.deps.logger.warn({ err, invocationId: row.id }, "async invocation record not written"));
  }
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** A `Retry-After` in seconds, capped at an hour; dates and nonsense are ignored. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Math.min(Number(value) * 1000, 3_600_000);
}
