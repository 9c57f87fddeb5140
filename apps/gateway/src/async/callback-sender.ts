import type { CidrList } from "@isle/config";
import { hopByHopHeaders } from "@isle/proto";
import type { InvocationCallback } from "@isle/db";
import type { Logger } from "@isle/telemetry";
import { checkCallbackUrl, type HostLookup } from "./callback-url.js";

/** What a callback tells the caller's receiver: the function's response and how it went. */
export interface CallbackResult {
  invocationId: string;
  tenantId: string;
  /** The attempt whose response this is. */
  attempt: number;
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array<ArrayBuffer>;
  durationMs: number;
}

export interface CallbackSenderOptions {
  allow: CidrList;
  logger: Logger;
  /** Waits before the 2nd, 3rd, … try; default 1 s, 2 s, 4 s (four tries). */
  retryDelaysMs?: number[];
  /** Per try. Default 10 s. */
  timeoutMs?: number;
  lookup?: HostLookup;
  fetch?: typeof fetch;
  /** Told how each callback ended, for the record; `drain` waits for a promise it returns. */
  onDone?: (result: CallbackResult, outcome: CallbackOutcome) => unknown;
}

/** How a callback ended, as its invocation's record shows it. */
export type CallbackOutcome = InvocationCallback;

/**
 * POSTs async results to their `X-Callback-Url`, retried with backoff on network errors and
 * 5xx/429 answers. A callback never re-runs the function: it is sent after the function's
 * outcome is settled, and its failures are only logged and reported. Redirects are not
 * followed (a redirect could lead to an address the URL check refused). The outcome names
 * the URL by its origin alone, and its error never quotes the path or query: those may carry a
 * token, and the outcome is shown to the tenant with the record.
 */
export class CallbackSender {
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: CallbackSenderOptions) {}

  /** Starts delivering; returns at once. */
  send(url: string, result: CallbackResult): void {
    const job = this.deliver(url, result).finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Waits up to `ms` for callbacks under way; later retries are given up. */
  async drain(ms: number): Promise<void> {
    this.stopped = true;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => setTimeout(r, ms).unref())]);
  }

  private async deliver(url: string, result: CallbackResult): Promise<void> {
    const { retryDelaysMs = [1000, 2000, 4000], timeoutMs = 10_000 } = this.options;
    const fetchFn = this.options.fetch ?? fetch;
    let error = "";
    let status: number | undefined;
    let tries = 0;
    for (const delay of [0, ...retryDelaysMs]) {
      if (delay > 0) {
        if (!this.stopped) await new Promise((r) => setTimeout(r, delay));
        if (this.stopped) {
          error += "; no more tries: the gateway stopped";
          break;
        }
      }
      tries++;
      status = undefined;
      try {
        // Again before each try: the name may point somewhere else by now.
        const target = await checkCallbackUrl(url, this.options.allow, this.options.lookup);
        const res = await fetchFn(target, {
          method: "POST",
          headers: callbackHeaders(result),
          body: result.body,
          redirect: "manual",
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        status = res.status;
        if (delivered(status)) break;
        error = `the receiver answered ${res.status}`;
        // Another answer below 500 (a 3xx, a 4xx) is the receiver's word: trying again would get it again.
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        error = describeError(err, url, timeoutMs);
      }
    }
    if (status !== undefined && delivered(status)) await this.finish(url, result, { delivered: true, status, tries });
    else await this.finish(url, result, { delivered: false, ...(status !== undefined ? { status } : {}), tries, error });
  }

  private async finish(url: string, result: CallbackResult, outcome: Omit<CallbackOutcome, "origin" | "attempt" | "at">): Promise<void> {
    if (!outcome.delivered) {
      const { invocationId, tenantId } = result;
      this.options.logger.warn({ invocationId, tenantId, tries: outcome.tries, error: outcome.error }, "callback not delivered");
    }
    const done = { origin: originOf(url), attempt: result.attempt, ...outcome, at: new Date().toISOString() };
    try {
      await this.options.onDone?.(result, done);
    } catch (err) {
      this.options.logger.warn({ err, invocationId: result.invocationId, tenantId: result.tenantId }, "callback outcome not recorded");
    }
  }
}

const delivered = (status: number) => status >= 200 && status < 300;

/** The URL's scheme, host and port, or nothing for a URL that does not parse (it was checked at accept). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}

/**
 * A failed try in a few words: a timeout, the connection error's code, or the message, without
 * the URL's path or query should a message quote them, and at most 200 characters.
 */
function describeError(err: unknown, url: string, timeoutMs: number): string {
  if (err instanceof Error && err.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const code = (err as { cause?: { code?: unknown } }).cause?.code;
  let text = err instanceof Error ? err.message : String(err);
  if (typeof code === "string") text = `${text} (${code})`;
  try {
    const parsed = new URL(url);
    const pathAndQuery = `${parsed.pathname}${parsed.search}`;
    if (pathAndQuery !== "/") text = text.split(parsed.href).join(`${parsed.origin}/…`).split(pathAndQuery).join("/…");
  } catch {
    // not a URL: nothing of it to hide
  }
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** The function's headers (minus hop-by-hop ones) and Isle's own. */
function callbackHeaders(result: CallbackResult): Headers {
  const headers = new Headers();
  for (const [name, value] of result.headers) {
    if (!hopByHopHeaders.has(name) && name !== "content-length" && !name.startsWith("x-isle-")) headers.append(name, value);
  }
  headers.set("x-isle-invocation-id", result.invocationId);
  headers.set("x-isle-status", String(result.status));
  headers.set("x-isle-duration-ms", String(result.durationMs));
  return headers;
}
