import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A cgroup v1 memory group for one workerd process: the kernel kills the
 * process when it passes the limit, and `memory.oom_control` counts those
 * kills, which is how an exit is told to be a memory-limit kill. The group
 * sits under the agent's own memory cgroup, so it needs no privilege beyond
 * what the agent's group already grants.
 */
export class MemoryCgroup {
  private constructor(private readonly dir: string) {}

  /**
   * Creates (or reuses) the group `name` with a limit of `limitBytes`.
   * Undefined where cgroup v1's memory controller is not available to us;
   * the caller then runs unbounded and says so.
   */
  static create(name: string, limitBytes: number, procSelfCgroup = "/proc/self/cgroup", root = "/sys/fs/cgroup/memory"): MemoryCgroup | undefined {
    let own: string | undefined;
    try {
      own = /^\d+:memory:(.*)$/m.exec(readFileSync(procSelfCgroup, "utf8"))?.[1];
    } catch {
      return undefined;
    }
    if (own === undefined || !existsSync(root)) return undefined;
    const dir = join(root, own, name);
    removeAbandoned(join(root, own));
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "memory.limit_in_bytes"), String(limitBytes));
      return new MemoryCgroup(dir);
    } catch {
      return undefined;
    }
  }

  /** Moves a process into the group. */
  add(pid: number): void {
    writeFileSync(join(this.dir, "cgroup.procs"), String(pid));
  }

  /** How many times the kernel has killed a process of this group at the limit. */
  oomKills(): number {
    try {
      return Number(/^oom_kill (\d+)$/m.exec(readFileSync(join(this.dir, "memory.oom_control"), "utf8"))?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  /** Removes the group (it must be empty). */
  remove(): void {
    try {
      rmdirSync(this.dir);
    } catch {
      // still has a process, or already gone
    }
  }
}

/** Groups this module names `isle-workerd-<pid>-<n>`. */
const groupName = /^isle-workerd-(\d+)-\d+$/;

/**
 * Removes groups left by agents that died without cleaning up (SIGKILL):
 * their pid is gone, and rmdir succeeds only on an empty group.
 */
function removeAbandoned(parent: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(groupName.exec(entry)?.[1]);
    if (!pid || existsSync(`/proc/${pid}`)) continue;
    try {
      rmdirSync(join(parent, entry));
    } catch {
      // not empty yet, or not ours to remove
    }
  }
}
