import { backoffDelay, type BackoffPolicy } from "./backoff.js";
import type { Delivery, DeliveryHandler, HandlerVerdict, QueueConsumer, StopOptions } from "./types.js";

/** What becomes of a delivery once its handler is done. */
export type Settlement =
  | { kind: "ack" }
  | { kind: "retry"; delayMs: number; error: string }
  /** `attempts`: deliveries that ran, which is one less than the delivery's attempt when it never ran. */
  | { kind: "dead"; error: string; attempts: number };

/** A delivery a source handed out, and how to settle it with that source. */
export interface Lease {
  delivery: Delivery;
  settle(settlement: Settlement): Promise<void>;
  /** Hand back a delivery that was taken while stopping and never ran. */
  release(): Promise<void>;
}

/** Where a consumer loop gets its deliveries: a table claim, or a JetStream pull. */
export interface DeliverySource {
  /** Up to `max` deliveries; may wait a while for the first (a long poll) or return none at once. */
  take(max: number): Promise<Lease[]>;
  /** Wait until there may be work (a notification) or the poll interval passed, or `signal` aborts. */
  idle(signal: AbortSignal): Promise<void>;
  /** Called once when the consumer has stopped. */
  close(): Promise<void>;
}

export interface ConsumerLoopOptions {
  concurrency: number;
  backoff: BackoffPolicy;
  onError: (err: unknown) => void;
  /** Pause after the source failed, before trying again. */
  errorDelayMs?: number;
}

/** The error a delivery is dead-lettered with when its last attempt never reported back. */
export const lastAttemptLost = "the last attempt did not finish within the visibility timeout";

/** Decide what a handler's outcome means for the message. */
export function settlementFor(
  outcome: { ok: true; verdict: HandlerVerdict | void } | { ok: false; error: unknown },
  delivery: Pick<Delivery, "attempt" | "maxAttempts">,
  backoff: BackoffPolicy,
): Settlement {
  if (outcome.ok && !outcome.verdict) return { kind: "ack" };
  const verdict: HandlerVerdict = outcome.ok
    ? outcome.verdict!
    : { outcome: "retry", error: describeError(outcome.error) };
  if (verdict.outcome === "dead" || delivery.attempt >= delivery.maxAttempts) {
    return { kind: "dead", error: verdict.error, attempts: delivery.attempt };
  }
  const delayMs = verdict.delayMs ?? backoffDelay(backoff, delivery.attempt);
  return { kind: "retry", delayMs: Math.max(0, Math.round(delayMs)), error: verdict.error };
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/**
 * Runs deliveries from `source` through `handler`, at most `concurrency` at once. A delivery
 * past its last attempt (its previous consumer died on the last one) is dead-lettered without
 * running. Failures of the source are reported and retried after a pause, never thrown.
 */
export function runConsumer(
  source: DeliverySource,
  handler: DeliveryHandler,
  options: ConsumerLoopOptions,
): QueueConsumer {
  const { concurrency, backoff, onError, errorDelayMs = 1_000 } = options;
  const running = new Set<Promise<void>>();
  const stopping = new AbortController();
  let abandoned = false;
  // Resolves the loop's wait for a free slot; called when a delivery finishes and on stop.
  let wake = () => {};

  const execute = async (lease: Lease): Promise<void> => {
    const { delivery } = lease;
    let settlement: Settlement;
    if (delivery.attempt > delivery.maxAttempts) {
      settlement = { kind: "dead", error: lastAttemptLost, attempts: delivery.attempt - 1 };
    } else {
      const guarded: Delivery = {
        ...delivery,
        extend: async () => {
          if (!abandoned) await delivery.extend();
        },
      };
      // Through a promise, so a handler that throws before returning one counts as failing too.
      const outcome = await Promise.resolve(guarded).then(handler).then(
        (verdict) => ({ ok: true as const, verdict }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      if (abandoned) return;
      settlement = settlementFor(outcome, delivery, backoff);
    }
    // A failed settle leaves the message leased: it comes back after its visibility timeout.
    await lease.settle(settlement).catch(onError);
  };

  const start = (lease: Lease) => {
    const run = execute(lease).catch(onError);
    running.add(run);
    void run.finally(() => {
      running.delete(run);
      wake();
    });
  };

  const loop = async () => {
    while (!stopping.signal.aborted) {
      if (running.size >= concurrency) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      let leases: Lease[];
      try {
        leases = await source.take(concurrency - running.size);
      } catch (err) {
        onError(err);
        await sleep(errorDelayMs, stopping.signal);
        continue;
      }
      if (stopping.signal.aborted) {
        await Promise.all(leases.map((lease) => lease.release().catch(onError)));
        break;
      }
      for (const lease of leases) start(lease);
      if (leases.length === 0) await source.idle(stopping.signal).catch(onError);
    }
  };

  const looping = loop();
  let stopped: Promise<void> | undefined;
  const stop = async ({ drainMs = 10_000 }: StopOptions = {}) => {
    stopping.abort();
    wake();
    await looping;
    const timeUp = new AbortController();
    const drained = Promise.all([...running]).then(() => true);
    const waited = sleep(drainMs, timeUp.signal).then(() => false);
    if (!(await Promise.race([drained, waited]))) abandoned = true;
    timeUp.abort();
    await source.close().catch(onError);
  };
  return { stop: (options) => (stopped ??= stop(options)) };
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
