import { type BackoffPolicy, defaultBackoff } from "./backoff.js";

/** Settings every queue implementation shares; see {@link resolveSettings} for the defaults. */
export interface QueueOptions {
  /**
   * The queue's name (1–32 of a-z, 0-9 and "-"). Queues of different names never see each
   * other's messages; tests use their own. Default `invocations`.
   */
  name?: string;
  /** How long a delivery stays invisible to other consumers without `extend()`. Default 30 s. */
  visibilityTimeoutMs?: number;
  /** Deliveries before a message is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** Delay before a failed delivery runs again. */
  backoff?: Partial<BackoffPolicy>;
  /** How long an idempotency key dedups. Default 24 h. */
  idempotencyWindowMs?: number;
  /** Largest payload accepted, once serialised. Default 1 MiB (JetStream's default message limit). */
  maxPayloadBytes?: number;
  /**
   * Told about failures the queue handles itself (a lost connection it retries, a lease that
   * expired before its handler finished). Default: ignored. Wire it to the app's logger.
   */
  onError?: (err: unknown) => void;
}

export interface QueueSettings {
  name: string;
  visibilityTimeoutMs: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  idempotencyWindowMs: number;
  maxPayloadBytes: number;
  onError: (err: unknown) => void;
}

const namePattern = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Apply the defaults and check the ranges; a bad value throws an Error naming the option. */
export function resolveSettings(options: QueueOptions = {}): QueueSettings {
  const {
    name = "invocations",
    visibilityTimeoutMs = 30_000,
    maxAttempts = 5,
    idempotencyWindowMs = 24 * 60 * 60 * 1000,
    maxPayloadBytes = 1024 * 1024,
    onError = () => {},
  } = options;
  if (!namePattern.test(name)) {
    throw new Error(`queue option name: expected 1-32 of a-z, 0-9 and "-", got ${JSON.stringify(name)}`);
  }
  const backoff = { ...defaultBackoff, ...options.backoff };
  checkInteger("visibilityTimeoutMs", visibilityTimeoutMs, 100, 12 * 60 * 60 * 1000);
  checkInteger("maxAttempts", maxAttempts, 1, 1000);
  checkInteger("idempotencyWindowMs", idempotencyWindowMs, 1000, 30 * 24 * 60 * 60 * 1000);
  checkInteger("maxPayloadBytes", maxPayloadBytes, 1, 64 * 1024 * 1024);
  checkInteger("backoff.baseMs", backoff.baseMs, 0, 24 * 60 * 60 * 1000);
  checkInteger("backoff.maxMs", backoff.maxMs, backoff.baseMs, 24 * 60 * 60 * 1000);
  checkNumber("backoff.factor", backoff.factor, 1, 100);
  checkNumber("backoff.jitter", backoff.jitter, 0, 1);
  return { name, visibilityTimeoutMs, maxAttempts, backoff, idempotencyWindowMs, maxPayloadBytes, onError };
}

/** Throws unless `value` is an integer in [min, max], naming the option. */
export function checkInteger(key: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value)) throw new Error(`queue option ${key}: expected an integer, got ${value}`);
  checkNumber(key, value, min, max);
}

function checkNumber(key: string, value: number, min: number, max: number): void {
  if (!(value >= min && value <= max)) {
    throw new Error(`queue option ${key}: expected ${min} to ${max}, got ${value}`);
  }
}
