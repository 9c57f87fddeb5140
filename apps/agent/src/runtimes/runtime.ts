import type { Readable } from "node:stream";
import type { LogSink } from "../logs/invocation-log.js";

/** What an isolate is loaded from. */
export interface IsolateSource {
  /** `tenantId:deploymentId:artifactHash:envVersion` — never shared across tenants. */
  isolateId: string;
  artifactHash: string;
  envRef: string;
}

/** One request for a function, as the agent hands it to a runtime. */
export interface RuntimeRequest {
  /** `tenantId:deploymentId:artifactHash:envVersion` — never shared across tenants. */
  isolateId: string;
  artifactHash: string;
  /** Names the env vars and secrets the isolate gets (see EnvSource). */
  envRef: string;
  invocationId: string;
  method: string;
  /** The absolute URL the function sees as `request.url`. */
  url: string;
  headers: Array<[string, string]>;
  /** Request body, streamed; null for none. */
  body: Readable | null;
  /** Aborted when the caller goes away or the deadline passes. */
  signal: AbortSignal;
  /** What the invocation's outbound requests carry and may do; defaults when absent. */
  egress?: RequestEgress;
  /** Where the function's console output and uncaught exceptions go; dropped when absent. */
  logs?: LogSink;
  /** The function's limits a runtime applies itself (containers: their cgroup); its defaults when absent. */
  limits?: RuntimeLimits;
}

/** Limits from the request head that a runtime enforces by itself. */
export interface RuntimeLimits {
  memoryMb: number;
  wallTimeoutMs: number;
}

/** Longest Unix socket path Linux accepts (sun_path is 108 bytes with the NUL); runtimes check theirs against it. */
export const maxUnixSocketPath = 107;

/** Subrequests an invocation may make when its request head carries no limits. */
export const defaultMaxSubrequests = 50;

/** The parts of an invocation its outbound requests depend on. */
export interface RequestEgress {
  /** The tenant's name: the FUNCTIONS binding and http://gateway/function/<name> call its functions. */
  tenantName: string;
  /** Outbound requests the invocation may make; 0: none. */
  maxSubrequests: number;
  /** The gateway's signed proof for calls this invocation makes; empty for none. */
  callToken: string;
  traceparent: string;
  tracestate: string;
}

/** The function's answer. The body streams; nothing holds it whole. */
export interface RuntimeResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Readable;
  /** True when this request loaded the isolate. */
  coldStart: boolean;
}

export interface RuntimeStatus {
  processes: number;
  ready: number;
  inFlight: number;
}

/**
 * Runs function code. Failures are IsleErrors from @isle/errors:
 * `function_error` (the function threw), `upstream_failed` (the runtime
 * process died or broke mid-request), `unavailable` (no process ready).
 */
export interface FunctionRuntime {
  start(): Promise<void>;
  invoke(request: RuntimeRequest): Promise<RuntimeResponse>;
  status(): RuntimeStatus;
  /**
   * Loads an isolate ahead of traffic, running none of the function's
   * handlers, so its next request is warm; resolves with whether this call
   * loaded it. Fails like invoke: `upstream_failed` when its code or env
   * could not be fetched, `function_error` when its modules throw, `timeout`
   * when loading outlasts `timeoutMs`. Absent: the runtime cannot.
   */
  prewarm?(isolate: IsolateSource, timeoutMs: number): Promise<{ coldStart: boolean }>;
  /**
   * After a request was abandoned (its signal aborted): whether its process
   * then had to be killed because it no longer answered — a function spinning
   * on the CPU — rather than merely being slow. Resolves once that is known.
   */
  abandonedVerdict?(signal: AbortSignal): Promise<"runaway" | "alive">;
  /**
   * The isolates left this agent (their deployment was evicted): a runtime
   * that holds resources per isolate (a container) frees them. Absent: it holds none.
   */
  evict?(isolateIds: readonly string[]): Promise<void>;
  /** Stops every process it started; no process outlives this. */
  stop(): Promise<void>;
}

/** Where a runtime gets artifact bytes by content hash (the agent's cache). */
export interface ArtifactSource {
  get(hash: string): Promise<Buffer>;
}

/** Where a runtime gets an isolate's env by reference (the agent's cache). */
export interface EnvSource {
  get(envRef: string): Promise<Record<string, string>>;
}
