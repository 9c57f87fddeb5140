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
