import { cidrList, type CidrList, logLevel, parseEnv, port } from "@isle/config";
import { z } from "zod";

/**
 * Hours in `7d`, `12h`, `30` (days) or `0`/`off` (0: for ever; empty: the default, 7 days);
 * undefined when it is none of these or out of range.
 */
function retentionHours(text: string): number | undefined {
  if (text.trim() === "") return 7 * 24;
  const m = /^\s*(?:(off)|(\d+)\s*([dh]?))\s*$/i.exec(text);
  if (!m) return undefined;
  if (m[1] !== undefined) return 0;
  const hours = Number(m[2]) * (m[3]?.toLowerCase() === "h" ? 1 : 24);
  return hours === 0 || (hours >= 1 && hours <= 3650 * 24) ? hours : undefined;
}

const schema = z.object({
  ISLE_HOST: z.string().default("127.0.0.1"),
  ISLE_PORT: port.default(8080),
  ISLE_DATA_DIR: z.string().min(1).default("./.isle"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "a postgres:// URL")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  ISLE_ADMIN_TOKEN: z.string().min(16, "at least 16 characters").optional(),
  ISLE_DOMAIN: z.string().optional(),
  /** The built web console (apps/console/dist); default: found through the @isle/console package. */
  ISLE_CONSOLE_DIR: z.string().min(1).optional(),
  /** A Bearer credential that reads /metrics and nothing else (for Prometheus); the operator token works too. */
  ISLE_METRICS_TOKEN: z.string().min(16, "at least 16 characters").optional(),
  /** The control plane's gRPC listener; agents connect here. Loopback by default. */
  ISLE_CONTROL_HOST: z.string().default("127.0.0.1"),
  ISLE_CONTROL_PORT: port.default(7070),
  /** More names agents dial the control plane at (comma-separated DNS names or IPs), for its certificate. */
  ISLE_CONTROL_NAMES: z
    .string()
    .default("")
    .transform((text) => text.split(",").map((name) => name.trim()).filter(Boolean)),
  /** Largest deployment upload, in megabytes. */
  ISLE_MAX_UPLOAD_MB: z.coerce.number().int().min(1).max(1024).default(50),
  /** Largest bundle after build, in megabytes. */
  ISLE_MAX_BUNDLE_MB: z.coerce.number().int().min(1).max(256).default(10),
  /** Largest pack a git push may send, in megabytes. */
  ISLE_GIT_MAX_PACK_MB: z.coerce.number().int().min(1).max(4096).default(100),
  ISLE_LOG_LEVEL: logLevel,
  /** Base64 of 32 random bytes sealing function secrets; generated into the data directory when unset. */
  ISLE_SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "the base64 of exactly 32 bytes (openssl rand -base64 32)")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  /** Shared rate-limit buckets for every gateway; unset: each gateway counts alone, in memory. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "a redis:// or rediss:// URL")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  /** Platform default invoke rate per tenant (requests/s) and its burst; tenants may set their own. */
  ISLE_TENANT_RATE: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  ISLE_TENANT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  /** Platform default invoke rate per API key (requests/s) and its burst. */
  ISLE_KEY_RATE: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  ISLE_KEY_BURST: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  /** How long invocation records are kept when a tenant sets nothing: `7d`, `12h`, days as a number, or `0`/`off` for ever. */
  ISLE_RECORD_RETENTION: z
    .string()
    .default("7d")
    .transform((text, ctx) => {
      const hours = retentionHours(text);
      if (hours === undefined) ctx.addIssue({ code: "custom", message: "a duration like 7d or 12h (1h to 3650d), days as a number, or 0/off to keep records for ever" });
      return hours ?? 0;
    }),
  /** The async queue in NATS JetStream; unset: a table in the gateway's database. */
  NATS_URL: z
    .string()
    .regex(/^(nats|tls):\/\//, "a nats:// or tls:// URL")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  /** The queue's name (its JetStream stream, or its rows in the table); gateways sharing work share it. */
  ISLE_QUEUE_NAME: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/, "1-32 of a-z, 0-9 and '-'").default("invocations"),
  /** Async deliveries run at once by one gateway. */
  ISLE_ASYNC_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(16),
  /** Attempts of an async invocation before it is dead-lettered. */
  ISLE_ASYNC_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** The first retry's delay in ms (doubling each time, up to 5 minutes). */
  ISLE_ASYNC_BACKOFF_MS: z.coerce.number().int().min(0).max(300_000).default(1000),
  /** How long a running delivery stays invisible to other gateways without being extended (extended every third of it). */
  ISLE_ASYNC_VISIBILITY_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  /** Non-public addresses (CIDR list) that X-Callback-Url may reach anyway, like the agents' ISLE_EGRESS_ALLOW. */
  ISLE_CALLBACK_ALLOW: cidrList,
  /** The shortest interval between two runs of a function's schedule, in seconds (six-field crons go down to 1). */
  ISLE_SCHEDULE_MIN_INTERVAL_S: z.coerce.number().int().min(1).max(86_400).default(60),
  /**
   * How late, in seconds, the most recent tick a schedule missed (the platform was down) may still
   * run; older missed ticks never do. Under a day, so a retried tick is still within the queue's 24 h
   * idempotency window.
   */
  ISLE_SCHEDULE_CATCHUP_S: z.coerce.number().int().min(1).max(43_200).default(600),
  /** How often each gateway looks for due schedules, in ms. */
  ISLE_SCHEDULE_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  /** In-flight requests one replica should carry; the scaler adds replicas above it (a function's own setting wins). */
  ISLE_SCALE_TARGET_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(10),
  /** Seconds without a request before a function goes to zero replicas (a function's own `idleSeconds` wins). */
  ISLE_SCALE_IDLE_S: z.coerce.number().int().min(1).max(86_400).default(300),
  /** The scaler's stable window in seconds (Knative's 60 s); its panic window is a tenth of it, at least 1 s. */
  ISLE_SCALE_WINDOW_S: z.coerce.number().int().min(6).max(3600).default(60),
  /** Replicas of one function at most, unless it sets its own `max`. */
  ISLE_SCALE_MAX_REPLICAS: z.coerce.number().int().min(1).max(1000).default(10),
  /** Replicas of all of a tenant's functions together, unless its quotas say otherwise. */
  ISLE_TENANT_MAX_REPLICAS: z.coerce.number().int().min(1).max(100_000).default(100),
  /** How often the scaler decides, in ms; also how often a gateway tries to become the scaler's leader. */
  ISLE_SCALER_TICK_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  /** Requests of one function that may wait while it starts from zero (or for any agent); more get 503. */
  ISLE_ACTIVATION_BUFFER: z.coerce.number().int().min(0).max(100_000).default(100),
});

export interface GatewayConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  adminToken: string | undefined;
  domain: string | undefined;
  /** Where the built web console is; undefined: the default location. */
  consoleDir: string | undefined;
  metricsToken: string | undefined;
  controlHost: string;
  controlPort: number;
  /** Names for the control plane's certificate beside its listener's host. */
  controlNames: string[];
  maxUploadBytes: number;
  maxBundleBytes: number;
  maxPackBytes: number;
  logLevel: string;
  /** The secrets key's 32 bytes, when configured. */
  secretsKey: Buffer | undefined;
  redisUrl: string | undefined;
  /** Hours invocation records are kept unless the tenant's quotas say otherwise; 0 keeps them for ever. */
  recordRetentionHours: number;
  /** Invoke rate limits when a tenant sets none. */
  rateDefaults: { tenant: { rate: number; burst: number }; key: { rate: number; burst: number } };
  async: { natsUrl: string | undefined; queueName: string; concurrency: number; maxAttempts: number; backoffMs: number; visibilityMs: number; callbackAllow: CidrList };
  /** Functions' cron schedules (ADR 0019). */
  schedules: { minIntervalSeconds: number; catchUpMs: number; pollMs: number };
  /** The scaler's defaults and pace (ADR 0023). */
  scaling: {
    targetConcurrency: number;
    scaleToZeroAfterMs: number;
    stableWindowMs: number;
    panicWindowMs: number;
    maxReplicas: number;
    tenantMaxReplicas: number;
    tickMs: number;
    activationBuffer: number;
  };
}

/** Parses the gateway's settings once; errors name the key and what it allows. */
export function loadConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  const v = parseEnv(schema, env, "gateway");
  return {
    host: v.ISLE_HOST,
    port: v.ISLE_PORT,
    dataDir: v.ISLE_DATA_DIR,
    databaseUrl: v.DATABASE_URL,
    adminToken: v.ISLE_ADMIN_TOKEN,
    domain: v.ISLE_DOMAIN,
    consoleDir: v.ISLE_CONSOLE_DIR,
    metricsToken: v.ISLE_METRICS_TOKEN,
    controlHost: v.ISLE_CONTROL_HOST,
    controlPort: v.ISLE_CONTROL_PORT,
    controlNames: v.ISLE_CONTROL_NAMES,
    maxUploadBytes: v.ISLE_MAX_UPLOAD_MB * 1024 * 1024,
    maxBundleBytes: v.ISLE_MAX_BUNDLE_MB * 1024 * 1024,
    maxPackBytes: v.ISLE_GIT_MAX_PACK_MB * 1024 * 1024,
    logLevel: v.ISLE_LOG_LEVEL,
    secretsKey: v.ISLE_SECRETS_KEY ? Buffer.from(v.ISLE_SECRETS_KEY, "base64") : undefined,
    redisUrl: v.REDIS_URL,
    recordRetentionHours: v.ISLE_RECORD_RETENTION,
    rateDefaults: {
      tenant: { rate: v.ISLE_TENANT_RATE, burst: v.ISLE_TENANT_BURST },
      key: { rate: v.ISLE_KEY_RATE, burst: v.ISLE_KEY_BURST },
    },
    async: {
      natsUrl: v.NATS_URL,
      queueName: v.ISLE_QUEUE_NAME,
      concurrency: v.ISLE_ASYNC_CONCURRENCY,
      maxAttempts: v.ISLE_ASYNC_MAX_ATTEMPTS,
      backoffMs: v.ISLE_ASYNC_BACKOFF_MS,
      visibilityMs: v.ISLE_ASYNC_VISIBILITY_MS,
      callbackAllow: v.ISLE_CALLBACK_ALLOW,
    },
    schedules: {
      minIntervalSeconds: v.ISLE_SCHEDULE_MIN_INTERVAL_S,
      catchUpMs: v.ISLE_SCHEDULE_CATCHUP_S * 1000,
      pollMs: v.ISLE_SCHEDULE_POLL_MS,
    },
    scaling: {
      targetConcurrency: v.ISLE_SCALE_TARGET_CONCURRENCY,
      scaleToZeroAfterMs: v.ISLE_SCALE_IDLE_S * 1000,
      stableWindowMs: v.ISLE_SCALE_WINDOW_S * 1000,
      // The scaler's buckets are 1 s: a tenth of a window under 10 s would be no window at all.
      panicWindowMs: Math.max(1000, v.ISLE_SCALE_WINDOW_S * 100),
      maxReplicas: v.ISLE_SCALE_MAX_REPLICAS,
      tenantMaxReplicas: v.ISLE_TENANT_MAX_REPLICAS,
      tickMs: v.ISLE_SCALER_TICK_MS,
      activationBuffer: v.ISLE_ACTIVATION_BUFFER,
    },
  };
}
