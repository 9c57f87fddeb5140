import { IsleError } from "@isle/errors";
import type { Logger } from "@isle/telemetry";
import type { WorkerdProcess } from "./workerd-process.js";

/** What one recycle did, as logged. */
export interface WorkerdRecycle {
  /** The slot of the pool (its socket). */
  workerd: number;
  pid: number | undefined;
  newPid: number | undefined;
  rssBytes: number;
  budgetBytes: number;
  /** Requests in flight when the drain began. */
  inFlight: number;
  /** Requests still running at the drain timeout, failed with `upstream_failed`. */
  abandoned: number;
  ms: number;
}

export interface RecyclerOptions {
  /** The pool's processes, read at each check. */
  processes: () => readonly WorkerdProcess[];
  /** Resident memory past which a process is recycled. */
  budgetBytes: number;
  checkMs: number;
  drainMs: number;
  /** How long the restarted process has to listen. */
  readyTimeoutMs: number;
  logger: Logger;
  onRecycle?: ((recycle: WorkerdRecycle) => void) | undefined;
}

/**
 * workerd never unloads a Worker Loader isolate, so a process grows with
 * every function it has run until its memory limit kills it, failing what
 * runs there with `memory_limit`. The recycler reads each process's memory on
 * a timer and recycles the one furthest over the budget (WorkerdProcess.recycle:
 * drain, then restart on the same socket), one process at a time so the
 * others keep serving. Its isolates load again, cold, on their next request.
 * This is also the only way an evicted (scaled to zero) function's isolate
 * leaves memory.
 */
export class Recycler {
  private timer: NodeJS.Timeout | undefined;
  private running: { proc: WorkerdProcess; done: Promise<void> } | undefined;

  constructor(private readonly options: RecyclerOptions) {}

  /** The process being recycled, if any. */
  get current(): WorkerdProcess | undefined {
    return this.running?.proc;
  }

  start(): void {
    // Reading VmRSS is one small procfs read per process: cheap at this rate.
    this.timer = setInterval(() => this.check(), this.options.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Resolves when the recycle under way ends (at once when there is none), or
   * rejects with the abort reason: requests that found no process ready wait
   * here instead of failing with `unavailable`.
   */
  ended(signal: AbortSignal): Promise<void> {
    const running = this.running;
    if (!running) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new IsleError("timeout", "request aborted"));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      void running.done.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  private check(): void {
    const { budgetBytes } = this.options;
    if (this.running || !this.timer) return;
    let largest: { proc: WorkerdProcess; bytes: number } | undefined;
    for (const proc of this.options.processes()) {
      const bytes = proc.dispatcher ? proc.memoryBytes() : undefined;
      if (bytes !== undefined && bytes > budgetBytes && (!largest || bytes > largest.bytes)) largest = { proc, bytes };
    }
    if (largest) this.running = { proc: largest.proc, done: this.recycle(largest.proc, largest.bytes) };
  }

  /** Never rejects: requests held during the recycle wait for it to end. */
  private async recycle(proc: WorkerdProcess, rssBytes: number): Promise<void> {
    const { budgetBytes, logger } = this.options;
    const pid = proc.pid;
    const inFlight = proc.inFlight;
    const started = Date.now();
    try {
      const result = await proc.recycle(this.options.drainMs, this.options.readyTimeoutMs);
      if (result === "gone") return;
      const { abandoned } = result;
      const recycle: WorkerdRecycle = { workerd: proc.index, pid, newPid: proc.pid, rssBytes, budgetBytes, inFlight, abandoned, ms: Date.now() - started };
      logger.info(
        { workerd: proc.index, pid, newPid: proc.pid, rssMb: mib(rssBytes), budgetMb: mib(budgetBytes), inFlight, abandoned, ms: recycle.ms },
        "recycled a workerd process to free its isolates' memory",
      );
      this.options.onRecycle?.(recycle);
    } catch (err) {
      logger.warn({ err, workerd: proc.index, pid }, "a recycled workerd process did not start again; it restarts as after a crash");
    } finally {
      this.running = undefined;
    }
  }
}

/** Bytes in MiB, rounded, for logs. */
function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
