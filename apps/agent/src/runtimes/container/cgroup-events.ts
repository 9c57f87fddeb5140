import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** What the kernel counted against a container's limits. */
export interface ContainerEvents {
  /** Times the memory limit was reached and the OOM killer ran (v2 `oom`; v1: oom_kill, see below). */
  oom: number;
  /** Processes the OOM killer killed in this container. */
  oomKill: number;
  /** Forks and clones refused at pids.max. */
  pidsMax: number;
}

export type CgroupVersion = "v1" | "v2";

/**
 * Which cgroup hierarchy this host gives runc: v2 when /sys/fs/cgroup is the
 * unified mount itself, v1 when it holds per-controller mounts (a "hybrid"
 * host's /sys/fs/cgroup/unified carries no controllers, so runc uses v1 there).
 */
export function cgroupVersion(root = "/sys/fs/cgroup"): CgroupVersion {
  return existsSync(join(root, "cgroup.controllers")) ? "v2" : "v1";
}

/**
 * Reads the events of the cgroup at `cgroupPath` (as in the bundle spec).
 * v2: `memory.events` (oom, oom_kill) and `pids.events` (max).
 * v1: `memory.oom_control`'s oom_kill (v1 counts no separate `oom` event, so
 * `oom` repeats oom_kill) and the pids controller's `pids.events` (max).
 * A file that is gone (the group was deleted) counts 0.
 */
export function readContainerEvents(cgroupPath: string, version: CgroupVersion, root = "/sys/fs/cgroup"): ContainerEvents {
  if (version === "v2") {
    const memory = readKeyed(join(root, cgroupPath, "memory.events"));
    const pids = readKeyed(join(root, cgroupPath, "pids.events"));
    return { oom: memory.get("oom") ?? 0, oomKill: memory.get("oom_kill") ?? 0, pidsMax: pids.get("max") ?? 0 };
  }
  const oomControl = readKeyed(join(root, "memory", cgroupPath, "memory.oom_control"));
  const pids = readKeyed(join(root, "pids", cgroupPath, "pids.events"));
  const oomKill = oomControl.get("oom_kill") ?? 0;
  return { oom: oomKill, oomKill, pidsMax: pids.get("max") ?? 0 };
}

/** Parses a cgroup "flat keyed" file: `key value` lines. */
function readKeyed(file: string): Map<string, number> {
  const values = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return values;
  }
  for (const line of text.split("\n")) {
    const [key, value] = line.split(" ");
    if (key && value !== undefined) values.set(key, Number(value));
  }
  return values;
}
