import { IsleError } from "@isle/errors";

/**
 * Whose fault a failed invocation was, for circuit breaking: `node` when the
 * agent's node failed (its stream broke, it stopped answering, it said it
 * could not serve), `function-on-node` when that node failed this function
 * only (its code would not load there, its process died under it), undefined
 * when nobody's but the function's or the client's (the function threw or
 * spun, the client went away) — those must never eject a node.
 */
export type Fault = "node" | "function-on-node";

const faults = new WeakMap<IsleError, Fault>();

/** An IsleError marked as the node's fault. */
export function nodeFault(error: IsleError, fault: Fault = "node"): IsleError {
  faults.set(error, fault);
  return error;
}

/** The fault of an error the invocation failed with; agent-reported codes are judged by their code. */
export function faultOf(error: IsleError | undefined, reportedByAgent: boolean): Fault | undefined {
  if (!error) return undefined;
  const marked = faults.get(error);
  if (marked) return marked;
  if (!reportedByAgent) return undefined;
  if (error.code === "unavailable") return "node";
  if (error.code === "upstream_failed") return "function-on-node";
  return undefined;
}

const undeliveredErrors = new WeakSet<IsleError>();

/**
 * Marks a failure that happened before the function got any byte of the
 * request: the agent refused it (`unavailable`: draining, no process
 * ready), or the stream to the node failed before the node ever answered
 * on it. Only such a failure may be tried again on another replica
 * (DESIGN.md §8: a request reaches a function at most once per attempt).
 */
export function undelivered(error: IsleError): IsleError {
  undeliveredErrors.add(error);
  return error;
}

export function wasUndelivered(error: unknown): boolean {
  return error instanceof IsleError && undeliveredErrors.has(error);
}
