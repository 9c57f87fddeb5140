import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { Pool } from "undici";
import { IsleError } from "@isle/errors";
import type { Logger } from "@isle/telemetry";
import { socketName } from "./config.js";
import { internalHeaders } from "./internal-headers.js";
import type { MemoryCgroup } from "./memory-cgroup.js";

/** Restart delays after a crash: doubling from `initialMs` up to `maxMs`. */
export interface RestartPolicy {
  initialMs: number;
  maxMs: number;
  /** A process that stayed up this long crashed "fresh": the delay starts over. */
  resetAfterMs: number;
}

export const defaultRestartPolicy: RestartPolicy = { initialMs: 100, maxMs: 2_000, resetAfterMs: 10_000 };

/**
 * The delay before the next restart, and the delay to use after that.
 * Pure, so the policy is testable without processes or clocks.
 */
export function restartDelay(policy: RestartPolicy, currentMs: number, upMs: number): { waitMs: number; nextMs: number } {
  const waitMs = upMs >= policy.resetAfterMs ? policy.initialMs : currentMs;
  return { waitMs, nextMs: Math.min(waitMs * 2, policy.maxMs) };
}

export interface WorkerdProcessOptions {
  index: number;
  /** The command and leading arguments that start workerd (setpriv wrapper included). */
  command: readonly string[];
  configPath: string;
  socketPath: string;
  logger: Logger;
  restart?: RestartPolicy;
  /** Bounds the process's memory; undefined: unbounded. */
  memory?: MemoryCgroup | undefined;
}

/**
 * One workerd process of the pool, kept alive: spawned, watched through
 * `--control-fd` (workerd writes `{"event":"listen",…}` once its socket,
 * Unix ones included, accepts connections) and restarted with backoff when
 * it exits. It owns the undici Pool that talks to it; that pool is destroyed
 * with `upstream_failed` the moment the process exits, so no request on a
 * dead process waits for a timeout.
 */
export class WorkerdProcess {
  /** Requests dispatched to this process whose response has not finished. */
  inFlight = 0;
  /** Set while a liveness probe is out: new requests go elsewhere if they can. */
  suspect = false;
  /** Set while a heartbeat probe goes unanswered: its event loop is blocked; new requests go elsewhere if they can. */
  stalled = false;
  /** Set while the process drains before a planned restart ({@link recycle}): new requests go elsewhere if they can. */
  draining = false;
  /** When the drain began (Date.now()). */
  drainingSince = 0;
  readonly index: number;

  private readonly options: WorkerdProcessOptions;
  private readonly policy: RestartPolicy;
  private readonly logger: Logger;
  private child: ChildProcess | undefined;
  private pool: Pool | undefined;
  private readyAt = 0;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Set between the kill of a planned restart and the exit it causes. */
  private retiring = false;
  /** Called synchronously when the last request in flight ends (see {@link recycle}). */
  private onIdle: (() => void) | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readyWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private oomKillsAtStart = 0;
  private lastExitOutOfMemory = false;
  /** The last stderr lines, for start-failure messages. */
  private stderrTail: string[] = [];

  constructor(options: WorkerdProcessOptions) {
    this.options = options;
    this.index = options.index;
    this.policy = options.restart ?? defaultRestartPolicy;
    this.delayMs = this.policy.initialMs;
    this.logger = options.logger.child({ workerd: options.index });
  }

  /** A request (or prewarm) was dispatched here. */
  began(): void {
    this.inFlight++;
  }

  /** A request (or prewarm) dispatched here has ended. */
  ended(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.onIdle?.();
  }

  /** The pool to send requests with, while the process is ready. */
  get dispatcher(): Pool | undefined {
    return this.pool;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Spawns the process; later exits restart it until {@link stop}. */
  start(): void {
    const { command, configPath, socketPath } = this.options;
    this.draining = false;
    // workerd does not unlink its socket on exit; a stale file fails the bind.
    rmSync(socketPath, { force: true });
    const [file = "", ...leading] = command;
    const child = spawn(
      file,
      [...leading, "serve", configPath, "--experimental", "--control-fd=3", "--socket-addr", `${socketName}=unix:${socketPath}`],
      { stdio: ["ignore", "pipe", "pipe", "pipe"] },
    );
    this.child = child;
    if (child.pid !== undefined && this.options.memory) {
      try {
        this.options.memory.add(child.pid);
      } catch (err) {
        this.logger.warn({ err }, "could not bound workerd's memory");
      }
    }
    this.oomKillsAtStart = this.options.memory?.oomKills() ?? 0;
    this.lastExitOutOfMemory = false;
    this.exited = new Promise((resolve) => {
      let done = false;
      const onGone = (code: number | null, signal: string | null, err?: Error) => {
        if (done) return;
        done = true;
        this.onExit(child, code, signal, err);
        resolve();
      };
      child.once("exit", (code, signal) => onGone(code, signal));
      child.once("error", (err) => onGone(null, null, err));
    });
    this.readLines(child.stdio[3] as Readable | null, (line) => this.onControl(child, line));
    this.readLines(child.stdout, (line) => this.logger.info({ stream: "stdout" }, line));
    this.readLines(child.stderr, (line) => this.onStderr(line));
  }

  /** Resolves when the process listens; rejects if it exits first or the time runs out. */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.pool) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        reject(this.startError(`did not listen within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (err: Error) => (clearTimeout(timer), reject(err)),
      };
      this.readyWaiters.push(waiter);
    });
  }

  /**
   * Asks the supervisor for a 204 and says whether it came within
   * `timeoutMs`. workerd runs one thread: while a function spins, nothing
   * in the process answers, this included.
   */
  async probe(timeoutMs: number): Promise<boolean> {
    const pool = this.pool;
    if (!pool) return false;
    try {
      const res = await pool.request({
        path: "/",
        method: "GET",
        headers: { [internalHeaders.probe]: "1" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      return res.statusCode === 204;
    } catch {
      return false;
    }
  }

  /** Kills a stuck process (SIGKILL: it ignores SIGTERM while spinning); it restarts as after a crash. */
  kill(reason: string): void {
    const pid = this.pid;
    if (pid === undefined) return;
    this.logger.warn({ pid, reason }, "killing workerd process");
    this.child?.kill("SIGKILL");
  }

  /**
   * Why requests on the process broke: a connection breaks a moment before
   * Node sees the exit, so this waits up to `waitMs` for the exit and says
   * whether the kernel killed the process at its memory limit.
   */
  async brokeOutOfMemory(waitMs: number): Promise<boolean> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, waitMs))]);
    }
    return this.lastExitOutOfMemory;
  }

  /**
   * Resident memory of the process in bytes (VmRSS), or undefined when it is
   * not running. Not the memory cgroup's usage_in_bytes: that also counts page
   * cache charged to the group, which outlives the process, so a fresh
   * process in the same slot could look over budget from its first moment.
   */
  memoryBytes(): number | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      return kb === undefined ? undefined : Number(kb) * 1024;
    } catch {
      return undefined; // exited between the two reads
    }
  }

  /**
   * A planned restart, to give back the memory of isolates workerd never
   * unloads: {@link draining} is set so the runtime sends new requests
   * elsewhere, the requests in flight end (or `drainTimeoutMs` passes and
   * those left fail with `upstream_failed`), then the process is killed and
   * started again at once on the same socket, outside the crash backoff.
   * Resolves once the new process listens, with how many requests were still
   * running when the drain gave up; "gone" when the process exited or was
   * stopped on its own meanwhile (the ordinary restart path then has it).
   */
  async recycle(drainTimeoutMs: number, readyTimeoutMs: number): Promise<{ abandoned: number } | "gone"> {
    const child = this.child;
    if (!child || this.pid === undefined || this.stopping) return "gone";
    this.draining = true;
    this.drainingSince = Date.now();
    const drained = await new Promise<{ abandoned: number; retired: boolean }>((resolve) => {
      const retire = () => {
        clearTimeout(timer);
        this.onIdle = undefined;
        const abandoned = this.inFlight;
        resolve({ abandoned, retired: this.retire(child) });
      };
      // Synchronous on the last ended(): no request can be dispatched here between the drain and the kill.
      this.onIdle = retire;
      const timer = setTimeout(retire, drainTimeoutMs);
      timer.unref();
      if (this.inFlight === 0) retire();
    });
    if (!drained.retired) return "gone";
    await this.exited;
    if (this.stopping) return "gone";
    this.start();
    await this.whenReady(readyTimeoutMs);
    return { abandoned: drained.abandoned };
  }

  /**
   * Takes the process out of service and kills it, unless it already exited
   * or was replaced. The pool goes at once, so pick() cannot choose it while
   * the exit is on its way; requests still on it fail with `upstream_failed`.
   */
  private retire(child: ChildProcess): boolean {
    if (child !== this.child || child.exitCode !== null || child.signalCode !== null || this.stopping) {
      this.draining = false;
      return false;
    }
    this.retiring = true;
    const pool = this.pool;
    this.pool = undefined;
    pool?.destroy(new IsleError("upstream_failed", "the workerd process was restarted to free memory")).catch(() => undefined);
    child.kill("SIGKILL");
    return true;
  }

  /** SIGKILL (workerd may ignore SIGTERM while a request spins) and wait for the exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    if (this.pid !== undefined) this.child?.kill("SIGKILL");
    await this.exited;
  }

  private onControl(child: ChildProcess, line: string): void {
    let event: { event?: unknown; socket?: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    if (event.event !== "listen" || event.socket !== socketName || child !== this.child) return;
    this.pool = new Pool("http://workerd", {
      connect: { socketPath: this.options.socketPath },
      // Deadlines belong to the caller's AbortSignal and the watchdog; undici's
      // own 300 s defaults would only cut long but legitimate streams.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.readyAt = Date.now();
    this.logger.info({ pid: child.pid }, "workerd ready");
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
  }

  private onExit(child: ChildProcess, code: number | null, signal: string | null, err?: Error): void {
    if (child !== this.child) return;
    const pool = this.pool;
    this.pool = undefined;
    // The kernel's memory-limit kill shows as a new oom_kill in the process's group.
    const outOfMemory = (this.options.memory?.oomKills() ?? 0) > this.oomKillsAtStart;
    this.lastExitOutOfMemory = outOfMemory;
    const failure = outOfMemory
      ? new IsleError("memory_limit", "the function's runtime ran out of memory")
      : new IsleError("upstream_failed", "the workerd process exited");
    pool?.destroy(failure).catch(() => undefined);
    const planned = this.retiring;
    this.retiring = false;
    if (planned && !this.stopping) {
      // recycle() starts the next process at once: not a crash, no backoff,
      // and whoever waits for readiness waits for that one.
      this.readyAt = 0;
      return;
    }
    for (const waiter of this.readyWaiters.splice(0)) {
      waiter.reject(this.startError(err ? err.message : `exited (code ${code}, signal ${signal})`));
    }
    if (this.stopping) return;
    const upMs = this.readyAt > 0 ? Date.now() - this.readyAt : 0;
    this.readyAt = 0;
    const { waitMs, nextMs } = restartDelay(this.policy, this.delayMs, upMs);
    this.delayMs = nextMs;
    this.logger.warn({ code, signal, err, outOfMemory, restartInMs: waitMs, stderr: this.stderrTail.slice(-5) }, "workerd exited");
    this.restartTimer = setTimeout(() => {
      if (!this.stopping) this.start();
    }, waitMs);
  }

  private onStderr(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > 20) this.stderrTail.shift();
    // The supervisor writes one JSON object per function failure.
    if (line.startsWith('{"source":"isle-supervisor"')) {
      try {
        this.logger.warn(JSON.parse(line) as object, "function failed");
        return;
      } catch {
        // Not ours after all; log it raw below.
      }
    }
    this.logger.warn({ stream: "stderr" }, line);
  }

  private startError(reason: string): Error {
    const tail = this.stderrTail.slice(-5).join("\n");
    return new Error(`workerd process ${this.index} ${reason}${tail ? `:\n${tail}` : ""}`);
  }

  private readLines(stream: Readable | null, onLine: (line: string) => void): void {
    if (!stream) return;
    createInterface({ input: stream, crlfDelay: Infinity }).on("line", onLine);
  }
}
