import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";

/** How to start a process in a network namespace. */
export interface NamespacedCommand {
  /** The namespace (`ip netns` name) it runs in. */
  netns: string;
  command: string;
  args: readonly string[];
  /** Environment on top of the test process's own. */
  env: Record<string, string>;
  /** stdout and stderr are appended here, across restarts. */
  logFile: string;
  cwd?: string | undefined;
}

/**
 * One process in a network namespace, started as
 * `setpriv --pdeathsig SIGKILL -- nsenter --net=/var/run/netns/<ns> -- <command>`: setpriv and
 * nsenter both exec, so the pid is the command's own, and the kernel kills it if the test process dies. It leads a
 * process group of its own (`detached`), so `kill()` reaches its children too (workerd).
 */
export class NamespacedProcess {
  private child: ChildProcess | undefined;

  /** `<host>/<name>`, in logs and errors. */
  readonly name: string;

  constructor(
    readonly host: string,
    name: string,
    private readonly spec: NamespacedCommand,
  ) {
    this.name = `${host}/${name}`;
  }

  get logFile(): string {
    return this.spec.logFile;
  }

  /** Starts the process (again, after a kill); its output goes on at the end of the same log. */
  start(): void {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.child?.pid})`);
    const out = openSync(this.spec.logFile, "a");
    try {
      // nsenter, not `ip netns exec`: that one also unshares the mount namespace and remounts
      // /sys, which hides the cgroup mounts runc needs for container functions.
      const enter = ["/usr/bin/nsenter", `--net=/var/run/netns/${this.spec.netns}`, "--"];
      this.child = spawn("/usr/bin/setpriv", ["--pdeathsig", "SIGKILL", "--", ...enter, this.spec.command, ...this.spec.args], {
        env: { ...process.env, ...this.spec.env },
        cwd: this.spec.cwd,
        stdio: ["ignore", out, out],
        detached: true,
      });
    } finally {
      closeSync(out); // the child holds its own copy
    }
    this.child.on("error", () => undefined); // a failed spawn shows as an exit code and in the log
  }

  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) throw new Error(`${this.name} is not running\n${this.tail()}`);
    return pid;
  }

  /** Resolves with the exit code, or the signal, once the process has exited. */
  async exited(): Promise<number | NodeJS.Signals | null> {
    const child = this.child;
    if (!child) return null;
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    return child.exitCode ?? child.signalCode;
  }

  /**
   * Sends `signal` (SIGKILL by default, `kill -9`) to the process's whole group and waits for
   * the leader to exit. A child that left the group is the namespace's sweep to catch.
   */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exit = once(child, "exit");
    this.signalGroup(signal);
    await exit;
  }

  /** Sends `signal` to the process's group, without waiting; nothing when it has exited. */
  signalGroup(signal: NodeJS.Signals): void {
    const child = this.child;
    if (!child || !this.running || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal); // the group is gone already; the leader may still be reaped
    }
  }

  /** SIGKILL now, then start again. */
  async restart(): Promise<void> {
    await this.kill();
    this.start();
  }

  /** The last lines of the log, for failure messages. */
  tail(lines = 20): string {
    if (!existsSync(this.spec.logFile)) return `--- ${this.name}: no log`;
    const text = readFileSync(this.spec.logFile, "utf8").split("\n").filter(Boolean);
    return `--- ${this.name}\n${text.slice(-lines).join("\n")}`;
  }
}
