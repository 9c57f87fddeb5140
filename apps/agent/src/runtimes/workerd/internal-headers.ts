import { hopByHopHeaders } from "@isle/proto";

/**
 * Headers that only the agent and the supervisor worker exchange. The agent
 * drops any copy of them that arrives with a caller's request (so nobody can
 * pick another tenant's isolate by sending one), and the supervisor removes
 * them before the function sees the request or the agent sees the response.
 */
export const internalHeaders = {
  /** Request: the isolate cache key, `tenant:deployment:artifact-hash:env-version`. */
  isolateId: "x-isle-isolate-id",
  /** Request: the artifact hash the isolate's code is fetched by. */
  artifact: "x-isle-artifact",
  /** Request: the reference of the env the isolate is created with. */
  env: "x-isle-env",
  /** Request: the absolute URL the function sees as `request.url`. */
  url: "x-isle-url",
  /** Request: the invocation id, for the supervisor's error log lines. */
  invocation: "x-isle-invocation",
  /** Request: a liveness probe; the supervisor answers 204 at once, running no function. */
  probe: "x-isle-probe",
  /** Request: load the isolate named by the other headers and answer 204, calling none of its handlers. */
  prewarm: "x-isle-prewarm",
  /** Response: present ("1") when this request loaded the isolate. */
  coldStart: "x-isle-cold-start",
  /** Response: the failure class when the supervisor answers for the function. */
  error: "x-isle-error",
} as const;

/** Values of the `x-isle-error` response header. */
export type SupervisorErrorCode = "function_error" | "artifact_unavailable" | "bad_request";

/**
 * Request headers the agent never forwards from a caller: the internal ones
 * above, and hop-by-hop headers that describe the caller's connection rather
 * than the request (undici refuses some of them outright).
 */
export const droppedRequestHeaders: ReadonlySet<string> = new Set([
  ...Object.values(internalHeaders),
  ...hopByHopHeaders,
  "expect",
]);

/** Response headers that describe the agent↔workerd hop, not the function's answer. */
export const droppedResponseHeaders: ReadonlySet<string> = new Set([
  internalHeaders.coldStart,
  internalHeaders.error,
  ...hopByHopHeaders,
]);
