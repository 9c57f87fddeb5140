import { execFile, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { constants as osConstants } from "node:os";
import { PassThrough, type Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { buildBundleSpec, cgroupPathFor, cpuPeriodMicros, cpuQuotaMicros, type ContainerLimits, type ReadonlyMount } from "./bundle-spec.js";
import { cgroupVersion, readContainerEvents, type CgroupVersion, type ContainerEvents } from "./cgroup-events.js";

export interface RuncRunnerOptions {
  /** Holds one bundle directory per container, named by container id. */
  workDir: string;
  /** runc's state directory (`runc --root`); `<workDir>/state` when absent. Only this runner's containers live there. */
  stateDir?: string;
  /** The runc binary; `runc` on PATH when absent. */
  runc?: string;
  /** Every container id starts with it; leftovers are found by it. */
  idPrefix?: string;
  /** Parent cgroup of every container (`/sys/fs/cgroup/<controller>/<parent>/<id>` on v1). */
  cgroupParent?: string;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  /**
   * Where each container's socket directory (mounted at /run/isle) lives, as
   * `<socketRoot>/<container id>`; inside its bundle when absent. A short
   * root keeps the socket's path under Linux's 107-byte limit whatever the
   * work directory's length.
   */
  socketRoot?: string;
}

/** What one replica runs. */
export interface ContainerSpec {
  rootfs: string;
  args: string[];
  env: string[];
  cwd?: string;
  /** 65534 (nobody) when absent. */
  uid?: number;
  gid?: number;
  limits: ContainerLimits;
  /** Host directories bind-mounted read-only (the function's code at /app). */
  mounts?: ReadonlyMount[];
}

export interface StopResult {
  /** True when the grace ran out and the container had to be SIGKILLed. */
  killed: boolean;
  /** The cgroup's counters, read after the container stopped and before its group was removed. */
  events: ContainerEvents;
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Runs containers with the `runc` binary: `runc run --keep` in the foreground
 * and non-terminal (pass-through) mode. The container's stdout and stderr are
 * pipes into this process; runc stays the parent of the container's first
 * process, so it reaps it and exits with its status (`--detach` would leave
 * that to the host's init, and the status would be lost). `--keep` leaves the
 * stopped container and its cgroup in place until delete, which is when its
 * OOM and pids counters are read. Needs root.
 */
export class RuncRunner {
  readonly cgroupVersion: CgroupVersion;
  private readonly runc: string;
  private readonly stateDir: string;
  private readonly idPrefix: string;
  private readonly cgroupParent: string;
  private readonly stopGraceMs: number;

  constructor(private readonly options: RuncRunnerOptions) {
    this.runc = options.runc ?? "runc";
    this.stateDir = options.stateDir ?? join(options.workDir, "state");
    this.idPrefix = options.idPrefix ?? "isle-";
    this.cgroupParent = options.cgroupParent ?? "isle";
    this.stopGraceMs = options.stopGraceMs ?? 5_000;
    this.cgroupVersion = cgroupVersion();
  }

  /** Runs `runc` with this runner's state directory; rejects with runc's own message on failure. */
  exec(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.runc, ["--root", this.stateDir, ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`runc ${args.join(" ")}: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      });
    });
  }

  /**
   * Deletes the containers (and bundle directories) a previous run of the
   * agent left behind — every id with this runner's prefix. Returns their ids.
   */
  async cleanupLeftovers(): Promise<string[]> {
    mkdirSync(this.stateDir, { recursive: true });
    const listed = JSON.parse((await this.exec(["list", "--format", "json"])) || "null") as Array<{ id: string }> | null;
    const ids = (listed ?? []).map((c) => c.id).filter((id) => id.startsWith(this.idPrefix));
    for (const id of ids) await this.exec(["delete", "--force", id]);
    let bundles: string[] = [];
    try {
      bundles = readdirSync(this.options.workDir).filter((name) => name.startsWith(this.idPrefix));
    } catch {
      // no work dir yet: nothing left
    }
    for (const name of bundles) rmSync(join(this.options.workDir, name), { recursive: true, force: true });
    const { socketRoot } = this.options;
    if (socketRoot) {
      for (const name of safeReaddir(socketRoot).filter((n) => n.startsWith(this.idPrefix))) rmSync(join(socketRoot, name), { recursive: true, force: true });
    }
    return [...new Set([...ids, ...bundles])];
  }

  /** Creates and starts container `<prefix><name>`; resolves once its first process runs. */
  async run(name: string, spec: ContainerSpec): Promise<RuncContainer> {
    const id = this.idPrefix + name;
    if (!idPattern.test(id)) throw new Error(`bad container name: ${JSON.stringify(name)}`);
    const bundleDir = join(this.options.workDir, id);
    const socketDir = this.options.socketRoot ? join(this.options.socketRoot, id) : join(bundleDir, "run");
    const uid = spec.uid ?? 65534;
    const gid = spec.gid ?? 65534;
    mkdirSync(this.stateDir, { recursive: true });
    mkdirSync(bundleDir, { recursive: true });
    mkdirSync(socketDir, { recursive: true });
    // Only the container's user (and root, the agent) may reach the socket.
    chownSync(socketDir, uid, gid);
    chmodSync(socketDir, 0o700);
    const cgroupPath = cgroupPathFor(id, this.cgroupParent);
    const config = buildBundleSpec({ ...spec, uid, gid, socketDir, cgroupPath });
    writeFileSync(join(bundleDir, "config.json"), JSON.stringify(config, null, 2));

    const pidFile = join(bundleDir, "pid");
    const child = spawn(
      this.runc,
      ["--root", this.stateDir, "--log", join(bundleDir, "runc.log"), "--log-format", "json", "run", "--keep", "--bundle", bundleDir, "--pid-file", pidFile, id],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    // Piped at once: Node discards a child's unread output when it exits.
    const stdout = child.stdout.pipe(new PassThrough());
    const stderr = child.stderr.pipe(new PassThrough());
    const exited = new Promise<number>((resolve) => {
      child.once("error", () => resolve(-1));
      child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
    });
    // runc writes the pid file once the container's process has started; a
    // short-lived process may have exited by the time it is read, which is
    // still a start.
    let pid = readPid(pidFile);
    while (pid === undefined) {
      const status = await Promise.race([exited, sleep(10, "waiting" as const)]);
      pid = readPid(pidFile);
      if (status !== "waiting") break;
    }
    if (pid === undefined) {
      const message = runcErrors(join(bundleDir, "runc.log"));
      await this.exec(["delete", "--force", id]).catch(() => {});
      rmSync(bundleDir, { recursive: true, force: true });
      rmSync(socketDir, { recursive: true, force: true });
      throw new Error(`runc run ${id} failed: ${message}`);
    }
    return new RuncContainer(this, { id, pid, bundleDir, socketDir, cgroupPath, stdout, stderr, exited }, this.stopGraceMs);
  }
}

interface ContainerParts {
  id: string;
  pid: number;
  bundleDir: string;
  socketDir: string;
  cgroupPath: string;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<number>;
}

/** One running (or stopped, not yet deleted) container. */
export class RuncContainer {
  readonly id: string;
  /** Host pid of the container's first process. */
  readonly pid: number;
  /** Host directory mounted at /run/isle inside. */
  readonly socketDir: string;
  readonly cgroupPath: string;
  /** The container's stdout and stderr; the caller must read them, or the container blocks on a full pipe. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /**
   * Resolves with the first process's exit status (128 + n for signal n)
   * when it has exited — and with it, in its pid namespace, every process.
   */
  readonly exited: Promise<number>;
  private readonly bundleDir: string;
  private done = false;
  private deleted = false;

  constructor(
    private readonly runner: RuncRunner,
    parts: ContainerParts,
    private readonly stopGraceMs: number,
  ) {
    ({ id: this.id, pid: this.pid, bundleDir: this.bundleDir, socketDir: this.socketDir, cgroupPath: this.cgroupPath, stdout: this.stdout, stderr: this.stderr } =
      parts);
    this.exited = parts.exited.finally(() => {
      this.done = true;
    });
  }

  /** Whether the first process still runs. */
  running(): boolean {
    return !this.done;
  }

  /** runc's view: "created", "running", "paused" or "stopped". */
  async state(): Promise<string> {
    return (JSON.parse(await this.runner.exec(["state", this.id])) as { status: string }).status;
  }

  /** The cgroup's OOM and pids counters so far. */
  events(): ContainerEvents {
    return readContainerEvents(this.cgroupPath, this.runner.cgroupVersion);
  }

  /** Sends a signal to the first process (`runc kill`); a stopped container is left as it is. */
  async kill(signal: "TERM" | "KILL" | "INT" | "HUP"): Promise<void> {
    try {
      await this.runner.exec(["kill", this.id, signal]);
    } catch (error) {
      // runc may see the process gone before its exit reaches us: give the exit a moment to arrive.
      await Promise.race([this.exited, sleep(200)]);
      if (this.running()) throw error;
    }
  }

  /** Changes the running container's memory, CPU and pids limits (`runc update`); /tmp's size stays. */
  async update(limits: Omit<ContainerLimits, "tmpMb">): Promise<void> {
    const memoryBytes = String(Math.round(limits.memoryMb * 1024 * 1024));
    await this.runner.exec([
      "update",
      "--memory",
      memoryBytes,
      "--memory-swap",
      memoryBytes,
      "--cpu-period",
      String(cpuPeriodMicros),
      "--cpu-quota",
      String(cpuQuotaMicros(limits.cpu)),
      "--pids-limit",
      String(limits.pidsMax),
      this.id,
    ]);
  }

  /**
   * SIGTERM, then SIGKILL once `graceMs` has passed; reads the cgroup's
   * counters, then deletes the container and its bundle.
   */
  async stop(graceMs = this.stopGraceMs): Promise<StopResult> {
    let killed = false;
    if (this.running()) {
      await this.kill("TERM");
      const grace = new AbortController();
      const exitedInGrace = await Promise.race([
        this.exited.then(() => true),
        sleep(graceMs, false, { signal: grace.signal }).catch(() => true),
      ]);
      grace.abort();
      if (!exitedInGrace) {
        killed = true;
        await this.kill("KILL");
        await this.exited;
      }
    }
    let events: ContainerEvents = { oom: 0, oomKill: 0, pidsMax: 0 };
    try {
      events = this.events();
    } catch {
      // no cgroup to read (already gone): the container is still deleted below
    }
    await this.delete();
    return { killed, events };
  }

  /** Removes the container, its cgroup and its bundle directory (force: a running one is killed). */
  async delete(): Promise<void> {
    if (this.deleted) return;
    await this.runner.exec(["delete", "--force", this.id]);
    this.deleted = true;
    rmSync(this.bundleDir, { recursive: true, force: true });
    rmSync(this.socketDir, { recursive: true, force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readPid(pidFile: string): number | undefined {
  try {
    return Number(readFileSync(pidFile, "utf8").trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** The error lines of runc's JSON log, for a failed run. */
function runcErrors(logFile: string): string {
  try {
    return readFileSync(logFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level?: string; msg?: string })
      .filter((entry) => entry.level === "error" || entry.level === "fatal")
      .map((entry) => entry.msg)
      .join("; ");
  } catch {
    return "(no runc log)";
  }
}
