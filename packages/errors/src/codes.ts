/**
 * The closed set of error codes Isle answers with, and the HTTP status each
 * maps to. Clients switch on the code; the status follows from it.
 */
export const errorStatus = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  build_failed: 422,
  rate_limited: 429,
  /** The function already runs as many invocations on the node as its `concurrency` allows. */
  concurrency_limit: 429,
  /** The tenant already runs as many invocations on the node as the node allows one tenant (the sidecar's limit). */
  tenant_concurrency_limit: 429,
  /** The function threw or rejected instead of answering. */
  function_error: 500,
  internal: 500,
  /** The node or its runtime failed while serving the request. */
  upstream_failed: 502,
  /** No agent could take the request now; retry later. */
  unavailable: 503,
  function_quarantined: 503,
  /** Functions calling functions nested deeper than the platform allows (a loop, most likely). */
  call_depth_exceeded: 508,
  timeout: 504,
  cpu_limit: 504,
  memory_limit: 502,
  /** The function's response body grew past its `maxResponseBytes`. */
  response_too_large: 502,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorStatus, value);
}
