import { PassThrough } from "node:stream";
import type { Pool } from "undici";
import { IsleError } from "@isle/errors";
import type { RuntimeRequest } from "../runtime.js";
import { responseHeaderPairs } from "../response-headers.js";
import { droppedRequestHeaders } from "../workerd/internal-headers.js";

/** The head of a container's answer; the body streams. */
export interface ProxiedResponse {
  status: number;
  headers: Array<[string, string]>;
  body: PassThrough;
}

/**
 * Sends one request to a container's server and resolves with the response
 * head as soon as it arrives; bodies stream both ways with backpressure.
 * `release` runs once, when the exchange is over however it ended. A failure
 * of the exchange is the caller's abort reason when it cancelled, otherwise
 * `upstream_failed` (the runtime refines it once it knows why the container
 * went away); it rejects the promise before the head, and errors the body after.
 */
export function proxyToContainer(pool: Pool, request: RuntimeRequest, release: () => void): Promise<ProxiedResponse> {
  const { signal } = request;
  const url = new URL(request.url);
  return new Promise<ProxiedResponse>((resolve, reject) => {
    const done = pool.stream(
      { path: url.pathname + url.search, method: request.method, headers: requestHeaders(request, url.host), body: request.body, signal },
      ({ statusCode, headers }) => {
        const body = new PassThrough({
          destroy(err, callback) {
            callback(err ? exchangeError(err, signal) : null);
          },
        });
        resolve({ status: statusCode, headers: responseHeaderPairs(headers), body });
        return body;
      },
    );
    let released = false;
    done.then(
      () => {
        if (!released) (released = true), release();
      },
      (err: unknown) => {
        if (!released) (released = true), release();
        reject(exchangeError(err, signal));
      },
    );
  });
}

/** The header the watchdogs tag the request's output lines with (ADR 0029). */
export const invocationHeader = "x-isle-invocation-id";

function requestHeaders(request: RuntimeRequest, host: string): string[] {
  const out: string[] = ["host", host, invocationHeader, request.invocationId];
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase();
    if (lower !== "host" && lower !== invocationHeader && !droppedRequestHeaders.has(lower)) out.push(name, value);
  }
  return out;
}

function exchangeError(err: unknown, signal: AbortSignal): Error {
  if (err instanceof IsleError) return err;
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new IsleError("timeout", "request aborted");
  return new IsleError("upstream_failed", "the function's container failed while serving the request");
}
