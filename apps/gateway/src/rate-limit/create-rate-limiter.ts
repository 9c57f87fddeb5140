import type { Logger } from "@isle/telemetry";
import { MemoryRateLimiter } from "./memory-rate-limiter.js";
import type { RateLimiter } from "./rate-limiter.js";
import { RedisRateLimiter, createRateLimitRedis } from "./redis-rate-limiter.js";

/**
 * The gateway's limiter: in memory, or on Redis when `redisUrl` is set, with
 * the in-memory one as its fallback. Waits up to a second for Redis at start;
 * a Redis that is down only means local decisions until it is up.
 */
export async function createRateLimiter(redisUrl: string | undefined, logger: Logger): Promise<RateLimiter> {
  if (!redisUrl) return new MemoryRateLimiter();
  const limiter = new RedisRateLimiter(createRateLimitRedis(redisUrl), new MemoryRateLimiter(), logger);
  if (!(await limiter.ready())) logger.warn("rate limiter: Redis not reachable yet; deciding locally until it is");
  return limiter;
}
