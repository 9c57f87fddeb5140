import type { controlV1 } from "@isle/proto";

/** What the gateway knows of one agent, from its reports and its own traffic. */
export interface AgentMember {
  agentId: string;
  /** host:port of the agent's sidecar. */
  address: string;
  capacity: number;
  reportedInFlight: number;
  /** Requests this gateway has sent to the agent that have not finished. */
  localInFlight: number;
  draining: boolean;
  workerdReady: number;
  /** The functions loaded on the agent, with their invocations running there, as last reported. */
  loaded: controlV1.LoadedFunction[];
  lastSeenMs: number;
  /** The agent's Register stream: it identifies the stream (a stale one's end cannot remove a newer one) and carries commands. */
  session: AgentSession;
}

/** One agent's open Register stream, as the membership sees it. */
export interface AgentSession {
  /** Sends a command to the agent (prewarm, evict, drain); absent in tests that only report. */
  send?(command: controlV1.ControlCommand): void;
}

/** Heartbeats an agent may miss before it leaves placement (DESIGN.md §8). */
const missedHeartbeats = 3;

/**
 * Agents connected to this control plane, and the choice among candidates for a
 * request (a function's replicas, placement.ts): the less loaded of two random ones.
 */
export class Membership {
  private readonly members = new Map<string, AgentMember>();

  constructor(
    private readonly heartbeatMs = 1000,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Records a report; the first report of a session registers the agent. Later reports of the
   * session update the same member in place: requests placed on it hold it and count themselves
   * out of its `localInFlight` when they end, whatever reports came meanwhile.
   */
  report(report: controlV1.AgentReport, session: AgentSession): void {
    const existing = this.members.get(report.agentId);
    const reported = {
      agentId: report.agentId,
      address: report.address,
      capacity: report.capacity,
      reportedInFlight: report.inFlight,
      draining: report.draining,
      workerdReady: report.workerdReady,
      loaded: report.loaded ?? [],
      lastSeenMs: this.now(),
      session,
    };
    if (existing?.session === session) Object.assign(existing, reported);
    else this.members.set(report.agentId, { ...reported, localInFlight: 0 });
  }

  /** The agent's stream ended; forget it unless a newer stream replaced it. */
  leave(agentId: string, session: AgentSession): void {
    if (this.members.get(agentId)?.session === session) this.members.delete(agentId);
  }

  healthy(): AgentMember[] {
    const cutoff = this.now() - missedHeartbeats * this.heartbeatMs;
    return [...this.members.values()].filter((m) => m.lastSeenMs >= cutoff && !m.draining && m.workerdReady > 0);
  }

  all(): AgentMember[] {
    return [...this.members.values()];
  }

  get(agentId: string): AgentMember | undefined {
    return this.members.get(agentId);
  }

  /** Sends a command on the agent's stream; false when the agent is not connected here. */
  send(agentId: string, command: controlV1.ControlCommand): boolean {
    const send = this.members.get(agentId)?.session.send;
    if (!send) return false;
    send(command);
    return true;
  }

  /** The less loaded of two random candidates (power of two choices); undefined for none. */
  choose(candidates: readonly AgentMember[]): AgentMember | undefined {
    if (candidates.length <= 1) return candidates[0];
    const a = candidates[Math.floor(this.random() * candidates.length)]!;
    let b = candidates[Math.floor(this.random() * (candidates.length - 1))]!;
    if (b === a) b = candidates[candidates.length - 1]!;
    return load(a) <= load(b) ? a : b;
  }
}

function load(m: AgentMember): number {
  return (m.reportedInFlight + m.localInFlight) / Math.max(m.capacity, 1);
}
