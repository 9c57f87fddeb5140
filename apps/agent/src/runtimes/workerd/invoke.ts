import { PassThrough } from "node:stream";
import type { Pool } from "undici";
import { IsleError } from "@isle/errors";
import type { Logger } from "@isle/telemetry";
import type { RuntimeRequest, RuntimeResponse } from "../runtime.js";
import { responseHeaderPairs } from "../response-headers.js";
import { droppedRequestHeaders, internalHeaders } from "./internal-headers.js";

/**
 * Sends one request to a workerd process and resolves with the response head
 * as soon as it arrives; the body streams both ways with backpressure and is
 * never held whole. `release` runs exactly once, when workerd has sent the
 * whole response or the exchange failed or was abandoned: in-flight counts
 * measure load on the process, so a short body that sits unread in the
 * PassThrough no longer counts.
 *
 * The response body is a PassThrough that undici writes into (`stream()`, the
 * cheapest undici API for proxying); its destroy hook maps undici's errors to
 * IsleErrors, so a process dying mid-body surfaces as `upstream_failed` to
 * whoever reads the body. A consumer that stops reading must destroy the body.
 */
export function invokeOn(pool: Pool, request: RuntimeRequest, release: () => void, logger: Logger): Promise<RuntimeResponse> {
  const { signal } = request;
  return new Promise<RuntimeResponse>((resolve, reject) => {
    const done = pool.stream(
      {
        path: "/",
        method: request.method,
        headers: requestHeaders(request),
        body: request.body,
        signal,
      },
      ({ statusCode, headers }) => {
        const body = new PassThrough({
          destroy(err, callback) {
            callback(err ? toIsleError(err, signal) : null);
          },
        });
        const failure = headers[internalHeaders.error];
        if (failure !== undefined) {
          reject(supervisorError(String(failure)));
          body.resume();
          return body;
        }
        resolve({
          status: statusCode,
          headers: responseHeaderPairs(headers),
          body,
          coldStart: headers[internalHeaders.coldStart] === "1",
        });
        return body;
      },
    );
    let released = false;
    const finish = () => {
      if (released) return;
      released = true;
      release();
    };
    done.then(finish, (err: unknown) => {
      finish();
      const error = toIsleError(err, signal);
      if (error !== err && !signal.aborted) logger.warn({ err }, "workerd request failed");
      // A no-op once resolved: the error then reaches the body instead.
      reject(error);
    });
  });
}

/** The caller's headers minus internal and hop-by-hop ones, plus the internal ones. */
function requestHeaders(request: RuntimeRequest): string[] {
  const out: string[] = [];
  for (const [name, value] of request.headers) {
    if (!droppedRequestHeaders.has(name.toLowerCase())) out.push(name, value);
  }
  out.push(
    internalHeaders.isolateId,
    request.isolateId,
    internalHeaders.artifact,
    request.artifactHash,
    internalHeaders.env,
    request.envRef,
    internalHeaders.url,
    request.url,
    internalHeaders.invocation,
    request.invocationId,
  );
  return out;
}

/** The supervisor's `x-isle-error` values, as the errors callers see. Never the function's stack. */
export function supervisorError(code: string): IsleError {
  switch (code) {
    case "function_error":
      return new IsleError("function_error", "the function failed to handle the request");
    case "artifact_unavailable":
      return new IsleError("upstream_failed", "the function's code could not be loaded on this node");
    default:
      return new IsleError("internal", `the workerd supervisor refused the request (${code})`);
  }
}

/**
 * A failure of the exchange as the caller sees it: the caller's own abort
 * reason when it cancelled, our IsleError when we caused it (a process exit
 * destroys the pool with one), otherwise `upstream_failed`.
 */
function toIsleError(err: unknown, signal: AbortSignal): Error {
  if (err instanceof IsleError) return err;
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new IsleError("timeout", "request aborted");
  return new IsleError("upstream_failed", "the workerd process failed while serving the request");
}
