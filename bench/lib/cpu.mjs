// CPU time per process of one Isle instance, read from /proc, to split a
// benchmark's cost per request between gateway, sidecar, agent and workerd.
import { readdirSync, readFileSync } from "node:fs";

const clockTicksPerSecond = 100; // USER_HZ on Linux

/** Isle's processes: the parts carry ISLE_DATA_DIR in their environment, workerd the path on its command line. */
export function isleProcesses(dataDir) {
  const found = {};
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "latin1");
      const env = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (!env.split("\0").includes(`ISLE_DATA_DIR=${dataDir}`) && !cmd.includes(dataDir)) continue;
      const part = ["gateway", "sidecar", "agent"].find((p) => cmd.includes(`apps/${p}/dist/main.js`));
      const args = cmd.split("\0");
      const isWorkerd = args.includes("serve") && args.some((a) => a.endsWith("/workerd"));
      const name = part ?? (isWorkerd ? "workerd" : undefined);
      if (!name) continue;
      (found[name] ??= []).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Total CPU milliseconds (user + system) each named group of processes has used. */
export function cpuMs(groups) {
  const out = {};
  for (const [name, pids] of Object.entries(groups)) {
    out[name] = 0;
    for (const pid of pids) {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
        out[name] += ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
      } catch {
        // exited
      }
    }
  }
  return out;
}

/** CPU milliseconds the whole machine has been busy, all cores together (/proc/stat; idle, iowait and steal excluded). */
export function machineBusyMs() {
  const [user, nice, system, , , irq, softirq] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq) * 1000) / clockTicksPerSecond;
}

/**
 * CPU milliseconds used by `rootPid` and all its descendants, counting the
 * exited children they have reaped (cutime, cstime): the difference of two
 * readings is what the tree used in between, even across processes that
 * died (a killed workerd's time moves into its parent's cutime).
 */
export function treeCpuMs(rootPid) {
  const table = processTable();
  let total = 0;
  for (const [pid, { fields }] of table) {
    if (!inTree(table, pid, rootPid)) continue;
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
    total += ((utime + stime + cutime + cstime) * 1000) / clockTicksPerSecond;
  }
  return total;
}

/** Every process now: pid → { ppid, fields } (the /proc/<pid>/stat fields after the command name). */
export function processTable() {
  const table = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name, which may itself hold ") ".
      const fields = text.slice(text.lastIndexOf(") ") + 2).split(" ");
      table.set(Number(entry), { ppid: Number(fields[1]), fields });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** Whether `pid` is `rootPid` or one of its descendants in `table` (processTable()). */
export function inTree(table, pid, rootPid) {
  for (let p = pid; p > 1; p = table.get(p)?.ppid ?? 0) if (p === rootPid) return true;
  return false;
}
