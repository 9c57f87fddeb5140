import { IsleError } from "@isle/errors";
import type { AgentMember, Membership } from "../control/membership.js";
import type { OutlierDetector } from "../invoke/outlier-detector.js";
import { pickAgent } from "../invoke/placement.js";

/** Where placement reads a function's replica count, and how it gives a function at zero its first replica. */
export interface ReplicaSource {
  replicas(functionId: string): number;
  /** Resolves once the function has at least one replica (a database write with several gateways). */
  activate(tenantId: string, functionId: string): Promise<number>;
}

export interface PlacerOptions {
  /** Requests of one function that may wait for it to start (or for any agent); more get 503. Default 100. */
  bufferPerFunction?: number;
  /** How long one request waits at most (never past its own deadline). Default 10 s. */
  waitMs?: number;
  /** How often a waiting request looks again for an agent. Default 25 ms. */
  recheckMs?: number;
}

export interface PlaceRequest {
  tenantId: string;
  functionId: string;
  /** Agents an earlier try of this request went to. */
  exclude?: ReadonlySet<string>;
  /** The request's own deadline (Unix ms): it never waits past it. */
  deadlineMs?: number;
}

/**
 * Chooses the agent for each invocation: at once when the function has
 * replicas and an agent is there; otherwise the request waits in a bounded
 * per-function buffer while the function is activated (scale from zero:
 * its first replica recorded for every gateway and the scaler) and until a
 * healthy agent is there. A full buffer, or a wait past `waitMs`, answers
 * `unavailable` (503 with Retry-After) rather than queue without bound.
 */
export class Placer {
  private readonly waiting = new Map<string, number>();
  private readonly bufferPerFunction: number;
  private readonly waitMs: number;
  private readonly recheckMs: number;

  constructor(
    private readonly membership: Membership,
    private readonly outliers: OutlierDetector,
    private readonly replicas: ReplicaSource,
    options: PlacerOptions = {},
  ) {
    this.bufferPerFunction = options.bufferPerFunction ?? 100;
    this.waitMs = options.waitMs ?? 10_000;
    this.recheckMs = options.recheckMs ?? 25;
  }

  /** The agent for the request now, or undefined when it must wait (see `place`). */
  placeNow({ functionId, exclude }: PlaceRequest): AgentMember | undefined {
    const replicas = this.replicas.replicas(functionId);
    if (replicas === 0) return undefined;
    return pickAgent(this.membership, this.outliers, { functionId, replicas, ...(exclude ? { exclude } : {}) });
  }

  /** The agent for the request, waiting in the function's buffer when there is none yet. */
  async place(request: PlaceRequest): Promise<AgentMember> {
    return this.placeNow(request) ?? this.wait(request);
  }

  /** Requests waiting per function now: load the scaler must see although no replica runs it yet. */
  buffered(): ReadonlyMap<string, number> {
    return this.waiting;
  }

  private async wait(request: PlaceRequest): Promise<AgentMember> {
    const { tenantId, functionId } = request;
    const queued = this.waiting.get(functionId) ?? 0;
    if (queued >= this.bufferPerFunction) {
      throw new IsleError("unavailable", "the function is starting and too many requests already wait for it; retry shortly");
    }
    this.waiting.set(functionId, queued + 1);
    try {
      const until = Math.min(Date.now() + this.waitMs, request.deadlineMs ?? Infinity);
      if (this.replicas.replicas(functionId) === 0) {
        await this.replicas.activate(tenantId, functionId).catch(() => {
          throw new IsleError("unavailable", "the function could not be started; retry shortly");
        });
      }
      for (;;) {
        const agent = this.placeNow(request);
        if (agent) return agent;
        if (Date.now() >= until) throw new IsleError("unavailable", "no agent is available to run the function; retry shortly");
        await new Promise((resolve) => setTimeout(resolve, this.recheckMs));
      }
    } finally {
      const left = (this.waiting.get(functionId) ?? 1) - 1;
      if (left === 0) this.waiting.delete(functionId);
      else this.waiting.set(functionId, left);
    }
  }
}

/** Every healthy agent is a replica of every function: for a gateway without a scaler (tests of other parts). */
export const everyAgentIsAReplica: ReplicaSource = {
  replicas: () => Number.MAX_SAFE_INTEGER,
  activate: async () => Number.MAX_SAFE_INTEGER,
};
