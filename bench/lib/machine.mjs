// The machine a result was measured on, written next to it: shared hosts are noisy, so the load
// average before and after says how much to trust a number.
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";

/** The machine, for the results: cores, model, memory, Node, and the load average now. */
export function machine() {
  return {
    cpus: availableParallelism(),
    model: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  };
}
