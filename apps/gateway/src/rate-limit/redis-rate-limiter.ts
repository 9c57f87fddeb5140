import { Redis } from "ioredis";
import type { Logger } from "@isle/telemetry";
import { decide, type RateDecision, type RatePolicy } from "./gcra.js";
import type { RateLimiter } from "./rate-limiter.js";

/**
 * One decision, atomically, for all of a request's buckets: the GCRA of
 * gcra.ts on Redis' clock (so gateways with skewed clocks agree). KEYS are
 * the buckets; ARGV is rate and burst for each. Each bucket advances only if
 * every bucket admits the request. Returns Redis' now and each bucket's TAT
 * before the decision, as strings (Redis would truncate Lua numbers to
 * integers); the caller repeats the arithmetic to fill in the headers.
 */
const script = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tats, newTats = {}, {}
local allowed = 1
for i = 1, #KEYS do
  local interval = 1000 / tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local stored = redis.call('GET', KEYS[i])
  local tat = now
  if stored then tat = math.max(tonumber(stored), now) end
  tats[i] = stored or ''
  newTats[i] = tat + interval
  if newTats[i] - burst * interval - now > 1e-6 then allowed = 0 end
end
if allowed == 1 then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], string.format('%.6f', newTats[i]), 'PX', math.ceil(newTats[i] - now) + 1)
  end
end
local out = { allowed, string.format('%.6f', now) }
for i = 1, #KEYS do out[#out + 1] = tats[i] end
return out
`;

type ScriptClient = Redis & { isleRateLimit(numKeys: number, ...args: Array<string | number>): Promise<Array<string | number>> };

export interface RedisRateLimiterOptions {
  /** Prefix of every bucket's key. */
  prefix?: string;
  /** A decision slower than this is taken locally instead (ms). */
  timeoutMs?: number;
  /** After a failure, how long to decide locally before trying Redis again (ms). */
  retryAfterMs?: number;
  now?: () => number;
}

/**
 * GCRA buckets shared by every gateway through Redis, one script call per
 * decision. It fails open to `fallback` (the local limiter): when Redis
 * errors, is unreachable or answers later than `timeoutMs`, the request is
 * decided locally, and Redis is left alone for `retryAfterMs` before it is
 * tried again — so an outage costs each request nothing, and a recovery is
 * noticed within a second. A request is never refused because Redis is down.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly client: ScriptClient;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly retryAfterMs: number;
  private readonly now: () => number;
  private skipUntil = 0;
  private degraded = false;

  constructor(
    client: Redis,
    private readonly fallback: RateLimiter,
    private readonly logger: Logger,
    { prefix = "isle:rl:", timeoutMs = 50, retryAfterMs = 1000, now = Date.now }: RedisRateLimiterOptions = {},
  ) {
    client.defineCommand("isleRateLimit", { lua: script });
    this.client = client as ScriptClient;
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
    this.retryAfterMs = retryAfterMs;
    this.now = now;
  }

  /** True while decisions are taken locally because Redis failed. */
  get usingFallback(): boolean {
    return this.degraded;
  }

  async check(policies: readonly RatePolicy[]): Promise<RateDecision> {
    if (this.now() < this.skipUntil) return this.fallback.check(policies);
    try {
      const reply = await this.evaluate(policies);
      if (this.degraded) {
        this.degraded = false;
        this.logger.info("rate limiter: Redis is back; deciding there again");
      }
      return reply;
    } catch (err) {
      this.skipUntil = this.now() + this.retryAfterMs;
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "rate limiter: Redis failed; deciding locally meanwhile");
      }
      return this.fallback.check(policies);
    }
  }

  /** Resolves once connected to Redis, or false after `withinMs` (decisions are then local until it connects). */
  async ready(withinMs = 1000): Promise<boolean> {
    if (this.client.status === "ready") return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off("ready", onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), withinMs);
      this.client.on("ready", onReady);
    });
  }

  async close(): Promise<void> {
    this.client.disconnect();
    await this.fallback.close();
  }

  private async evaluate(policies: readonly RatePolicy[]): Promise<RateDecision> {
    const args: Array<string | number> = policies.map((p) => this.prefix + p.key);
    for (const p of policies) args.push(p.rate, p.burst);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      const reply = await Promise.race([this.client.isleRateLimit(policies.length, ...args), timeout]);
      const now = Number(reply[1]);
      const tats = reply.slice(2).map((v) => (v === "" ? undefined : Number(v)));
      const { decision } = decide(policies, tats, now);
      // The script decided; the local arithmetic only fills in the numbers.
      return { ...decision, allowed: Number(reply[0]) === 1 };
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A Redis client for rate limiting: commands fail at once while it is
 * disconnected (no offline queue to wait in), it reconnects in the
 * background, and connection errors are logged by the limiter, not thrown.
 */
export function createRateLimitRedis(url: string): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  // Without a listener, ioredis reports every failed reconnect on stderr.
  client.on("error", () => undefined);
  return client;
}
