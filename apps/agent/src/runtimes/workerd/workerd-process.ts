import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
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
