import type { CidrList } from "@isle/config";
import { hopByHopHeaders } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import { checkCallbackUrl, type HostLookup } from "./callback-url.js";

/** What a callback tells the caller's receiver: the function's response and how it went. */
export interface CallbackResult {
  invocationId: string;
  tenantId: string;
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
  /** Told how each callback ended, for the record and the logs. */
  onDone?: (result: CallbackResult, outcome: { delivered: boolean; tries: number; error?: string }) => void;
}

/**
 * POSTs async results to their `X-Callback-Url`, retried with backoff on network errors and
 * 5xx/429 answers. A callback never re-runs the function: it is sent after the function's
 * outcome is settled, and its failures are only logged and reported. Redirects are not
 * followed (a redirect could lead to an address the URL check refused).
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
    let tries = 0;
    for (const delay of [0, ...retryDelaysMs]) {
      if (delay > 0) {
        if (this.stopped) break;
        await new Promise((r) => setTimeout(r, delay));
      }
      tries++;
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
        if (res.status < 500 && res.status !== 429) {
          if (res.status >= 300) error = `the receiver answered ${res.status}`;
          const delivered = res.status < 300;
          this.finish(result, { delivered, tries, ...(delivered ? {} : { error }) });
          return;
        }
        error = `the receiver answered ${res.status}`;
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    }
    this.finish(result, { delivered: false, tries, error });
  }

  private finish(result: CallbackResult, outcome: { delivered: boolean; tries: number; error?: string }): void {
    if (!outcome.delivered) {
      const { invocationId, tenantId } = result;
      this.options.logger.warn({ invocationId, tenantId, tries: outcome.tries, error: outcome.error }, "callback not delivered");
    }
    this.options.onDone?.(result, outcome);
  }
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
