import type { FunctionLimits } from "@isle/db";
import type { agentV1 } from "@isle/proto";

const MiB = 1024 * 1024;

/**
 * What a function gets for each limit it does not set: the one place the
 * platform's defaults live. The agent enforces what the request head carries,
 * so every field is filled here, never left for the agent to guess.
 */
export const platformLimits = {
  /** Wall-clock budget of one invocation. */
  timeoutMs: 30_000,
  /**
   * 128 MB, the isolate limit Workers users expect. Carried for the runtime;
   * the agent bounds memory per workerd process today, not per isolate (ADR 0008).
   */
  memoryMb: 128,
  /**
   * Request bodies are what anyone on the internet can send to a public
   * function, so they have a cap by default; 100 MiB is Cloudflare's default.
   */
  maxRequestBytes: 100 * MiB,
  /**
   * 0: no cap. A response is the function's own output and streams under
   * per-channel flow control, so its size costs the platform no memory, and
   * the wall timeout already bounds how long it can run; downloads and
   * event streams are legitimate. A function opts in to a cap.
   */
  maxResponseBytes: 0,
  /** Outbound fetches per invocation (enforced in workerd, not here). */
  subrequests: 50,
  /**
   * 0: no per-function cap; the node's capacity and the tenant's limits at
   * the sidecar still apply. A cap that users did not ask for would turn
   * bursts into 429s that scaling out could have absorbed.
   */
  concurrency: 0,
} as const;

/** The largest request body cap a function may choose: the platform's ceiling. */
export const maxRequestBytesCeiling = 1024 * MiB;

/** The limits of one invocation as the agent receives them: the function's, else the platform's. */
export function invocationLimits(limits: FunctionLimits): agentV1.Limits {
  const wallTimeoutMs = limits.timeoutMs ?? platformLimits.timeoutMs;
  return {
    wallTimeoutMs,
    // An isolate runs on one thread: it cannot use more CPU than wall-clock
    // time, so the wall timeout is the honest default CPU budget.
    cpuMs: limits.cpuMs ?? wallTimeoutMs,
    memoryMb: limits.memoryMb ?? platformLimits.memoryMb,
    // `||`: a 0 stored before the cap was enforced meant nothing; it gets the default, not "no cap".
    maxRequestBytes: limits.maxRequestBytes || platformLimits.maxRequestBytes,
    maxResponseBytes: limits.maxResponseBytes ?? platformLimits.maxResponseBytes,
    maxSubrequests: limits.subrequests ?? platformLimits.subrequests,
    maxConcurrency: limits.concurrency ?? platformLimits.concurrency,
  };
}

/**
 * Whether a request's Content-Length already says its body is over `maxBytes`
 * (0: no cap). A missing or malformed length says nothing: the agent counts
 * the bytes that actually arrive.
 */
export function declaredLengthOver(headers: Iterable<[string, string]>, maxBytes: number): boolean {
  if (maxBytes <= 0) return false;
  const declared = declaredLength(headers);
  return declared !== undefined && declared > maxBytes;
}

/** The body's length as its Content-Length header declares it; undefined without one (chunked). */
export function declaredLength(headers: Iterable<[string, string]>): number | undefined {
  for (const [name, value] of headers) {
    if (name === "content-length") return Number(value);
  }
  return undefined;
}
