import * as grpc from "@grpc/grpc-js";
import { IsleError } from "@isle/errors";
import { agentV1, grpcChannelOptions } from "@isle/proto";
import type { AgentMember } from "../control/membership.js";
import { AgentLane } from "./agent-lane.js";
import type { ChannelOutcome, FramedResponse } from "./client-channel.js";

/** Everything the agent needs to run one request. */
export interface InvokeSpec {
  head: agentV1.RequestHead;
  body: AsyncIterable<Uint8Array> | null;
  /** Registers a callback for the client disconnecting before the answer. */
  onClientGone(callback: () => void): void;
}

/** A started invocation: its answer at the head, and how it ended once it has. */
export interface Invocation extends FramedResponse {
  outcome: Promise<ChannelOutcome>;
}

/** Sends one invocation to one agent, through that agent's sidecar. */
export interface Invoker {
  /** Resolves at the response head; rejects with an IsleError when the invocation fails before it. */
  invoke(agent: AgentMember, spec: InvokeSpec): Promise<Invocation>;
  close(): void;
}

/**
 * Grace past the function's deadline before the gateway stops waiting for the
 * agent's own answer: the agent answers at the deadline, or up to its 1 s
 * liveness probe later when it must tell `cpu_limit` from `timeout`.
 */
const deadlineGraceMs = 2000;

/**
 * Reaches agents through their sidecars: one gRPC channel and one
 * multiplexed Invoke stream (AgentLane) per sidecar address. Each invocation
 * has its own deadline timer and is cancelled when the client goes away.
 */
export class SidecarInvoker implements Invoker {
  private readonly lanes = new Map<string, { client: agentV1.AgentClient; lane: AgentLane }>();

  async invoke(agent: AgentMember, { head, body, onClientGone }: InvokeSpec): Promise<Invocation> {
    const channel = this.lane(agent.address).start(head, body);
    agent.localInFlight++;
    const timer = setTimeout(
      () => channel.cancel(new IsleError("timeout", "the function did not answer before its deadline")),
      Math.max(head.deadlineUnixMs - Date.now(), 0) + deadlineGraceMs,
    );
    onClientGone(() => channel.cancel(new IsleError("upstream_failed", "the client went away")));
    void channel.closed.finally(() => {
      agent.localInFlight--;
      clearTimeout(timer);
    });
    return { ...(await channel.response), outcome: channel.closed };
  }

  close(): void {
    for (const { client, lane } of this.lanes.values()) {
      lane.close();
      client.close();
    }
    this.lanes.clear();
  }

  private lane(address: string): AgentLane {
    let entry = this.lanes.get(address);
    if (!entry) {
      const client = new agentV1.AgentClient(address, grpc.credentials.createInsecure(), grpcChannelOptions);
      entry = { client, lane: new AgentLane(() => client.invoke()) };
      this.lanes.set(address, entry);
    }
    return entry.lane;
  }
}
