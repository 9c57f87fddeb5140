// Memory of a process tree, read from /proc: the agent node's footprint is the agent process
// plus every workerd process under it, so one number per node covers the isolates wherever
// the pool placed them.
import { readFileSync } from "node:fs";
import { inTree, processTable } from "./cpu.mjs";

/** A /proc/<pid>/<file> field in kB ("VmRSS:  1234 kB"); 0 when absent or the process is gone. */
function kb(pid, file, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/${file}`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * RSS and PSS (MB) of `rootPid` and its descendants, in total and per process. RSS counts
 * shared pages (the workerd binary, mapped by every process) once per process; PSS splits
 * them among their users, so PSS sums to what the tree really holds.
 */
export function treeMemory(rootPid) {
  const table = processTable();
  const processes = [];
  for (const pid of table.keys()) {
    if (!inTree(table, pid, rootPid)) continue;
    const rssMb = kb(pid, "status", "VmRSS") / 1024;
    if (rssMb === 0) continue; // a kernel thread, or a process that just exited
    processes.push({ pid, name: readFileSync(`/proc/${pid}/comm`, "utf8").trim(), rssMb, pssMb: kb(pid, "smaps_rollup", "Pss") / 1024 });
  }
  const sum = (key) => processes.reduce((n, p) => n + p[key], 0);
  return { rssMb: sum("rssMb"), pssMb: sum("pssMb"), processes };
}
