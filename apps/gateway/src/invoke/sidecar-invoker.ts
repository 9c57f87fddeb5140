import * as grpc from "@grpc/grpc-js";
import { IsleError } from "@isle/errors";
import { agentV1, grpcChannelOptions } from "@isle/proto";
import type { AgentMember } from "../control/membership.js";
import { pumpRequestBody, readResponse, type FramedResponse } from "./frames.js";

/** Everything the agent needs to run one request. */
export interface InvokeSpec {
  head: agentV1.RequestHead;
  body: ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Sends one invocation to one agent, through that agent's sidecar. */
export interface Invoker {
  invoke(agent: AgentMember, spec: InvokeSpec): Promise<FramedResponse>;
  close(): void;
}

/**
 * Reaches agents' sidecars over gRPC, one channel per sidecar address, one
 * Invoke call per request with the request's deadline (plus a second of
 * grace, so the agent's own timeout answer arrives first).
 */
export class SidecarInvoker implements Invoker {
  private readonly clients = new Map<string, agentV1.AgentClient>();

  async invoke(agent: AgentMember, { head, body, signal }: InvokeSpec): Promise<FramedResponse> {
    if (signal.aborted) throw new IsleError("upstream_failed", "the client went away");
    const metadata = new grpc.Metadata();
    if (head.trace?.traceparent) metadata.set("traceparent", head.trace.traceparent);
    const call = this.client(agent.address).invoke(metadata, { deadline: head.deadlineUnixMs + 1000 });
    const onAbort = () => call.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    agent.localInFlight++;
    // grpc-js emits "status" exactly once per call, however it ends.
    call.on("status", () => {
      agent.localInFlight--;
      signal.removeEventListener("abort", onAbort);
    });

    call.write({ frame: { $case: "requestHead", value: head } });
    // Errors of the upload surface through the call's own status.
    pumpRequestBody(body, call).catch(() => call.cancel());
    return readResponse(call, head.method);
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(address: string): agentV1.AgentClient {
    let client = this.clients.get(address);
    if (!client) {
      client = new agentV1.AgentClient(address, grpc.credentials.createInsecure(), grpcChannelOptions);
      this.clients.set(address, client);
    }
    return client;
  }
}
