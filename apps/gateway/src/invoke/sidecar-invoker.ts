import { createPrivateKey, createSecretKey, randomBytes, sign, type KeyObject } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { IsleError } from "@isle/errors";
import { checkServerRole } from "@isle/pki";
import { agentV1, contextKeyBytes, contextKeyGrant, contextKeyMetadata, contextMac, grpcChannelOptions, wholeAnswersMetadata } from "@isle/proto";
import type { AgentMember } from "../control/membership.js";
import { AgentLane } from "./agent-lane.js";
import { nodeFault } from "./node-fault.js";
import { reportOutcome } from "./placement.js";
import type { OutlierDetector } from "./outlier-detector.js";
import type { ChannelOutcome, FramedResponse } from "./client-channel.js";

/** Everything the agent needs to run one request. */
export interface InvokeSpec {
  head: agentV1.RequestHead;
  body: AsyncIterable<Uint8Array> | null;
  /** Registers a callback for the client disconnecting before the answer. */
  onClientGone(callback: () => void): void;
  /** Told the function's output when the invocation ends with it, before `outcome` (or the failure) settles. */
  onLogs?(lines: agentV1.LogLine[]): void;
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

/** This gateway's platform identity: the CA to trust, and its own certificate and key (PEM). */
export interface GatewayTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * Reaches agents through their sidecars over mutual TLS: one gRPC channel and
 * one multiplexed Invoke stream (AgentLane) per sidecar address. Each
 * invocation's context is authenticated for the sidecar to check, with a
 * random key per sidecar that this gateway's certificate key signs once
 * (sent when the stream opens; ADR 0011); each invocation has its own
 * deadline timer and is cancelled when the client goes away.
 */
export class SidecarInvoker implements Invoker {
  private readonly lanes = new Map<string, { client: agentV1.AgentClient; lane: AgentLane; contextKey: KeyObject }>();
  private readonly credentials: grpc.ChannelCredentials;
  private readonly signingKey: KeyObject;

  constructor(
    tls: GatewayTls,
    /** Told how each invocation ended, so failing nodes are ejected (see placement.ts). */
    private readonly outliers?: OutlierDetector,
    /** Told the output invocations write after they ended (waitUntil work), as agents send it. */
    private readonly onLateLogs?: (late: agentV1.LateLogs) => void,
  ) {
    // Only a sidecar may receive invocations (and their context keys), not another part holding a platform certificate.
    this.credentials = grpc.credentials.createSsl(Buffer.from(tls.caPem), Buffer.from(tls.keyPem), Buffer.from(tls.certPem), {
      checkServerIdentity: checkServerRole("sidecar"),
    });
    this.signingKey = createPrivateKey(tls.keyPem);
  }

  async invoke(agent: AgentMember, { head, body, onClientGone, onLogs }: InvokeSpec): Promise<Invocation> {
    const { lane, contextKey } = this.lane(agent.address);
    head.contextSignature = contextMac(contextKey, head);
    const channel = lane.start(head, body, onLogs);
    agent.localInFlight++;
    const timer = setTimeout(
      // The agent answers at the deadline itself; silence past the grace is the node's fault.
      () => channel.cancel(nodeFault(new IsleError("timeout", "the function did not answer before its deadline"))),
      Math.max(head.deadlineUnixMs - Date.now(), 0) + deadlineGraceMs,
    );
    onClientGone(() => channel.cancel(new IsleError("upstream_failed", "the client went away")));
    void channel.closed.then(({ fault }) => {
      agent.localInFlight--;
      clearTimeout(timer);
      if (this.outliers) reportOutcome(this.outliers, agent.agentId, head.function?.functionId ?? "", fault);
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

  private lane(address: string): { lane: AgentLane; contextKey: KeyObject } {
    let entry = this.lanes.get(address);
    if (!entry) {
      const client = new agentV1.AgentClient(address, this.credentials, grpcChannelOptions);
      // Its own key per sidecar: a sidecar that learns its key can vouch for no call to another.
      const key = randomBytes(contextKeyBytes);
      const signature = sign("sha256", contextKeyGrant(key), this.signingKey);
      const streamMetadata = () => {
        const metadata = new grpc.Metadata();
        metadata.set(contextKeyMetadata.key, key);
        metadata.set(contextKeyMetadata.signature, signature);
        // This gateway reads a small answer sent whole, as one response head (agent.proto).
        metadata.set(wholeAnswersMetadata.key, wholeAnswersMetadata.value);
        return metadata;
      };
      entry = { client, lane: new AgentLane(() => client.invoke(streamMetadata()), this.onLateLogs), contextKey: createSecretKey(key) };
      this.lanes.set(address, entry);
    }
    return entry;
  }
}
