import * as grpc from "@grpc/grpc-js";
import { ControlClient, type ControlClientOptions } from "./control-client.js";

export interface ControlPlanesOptions extends Omit<ControlClientOptions, "address"> {
  /** host:port of each control plane (each gateway's gRPC listener); at least one. */
  addresses: readonly string[];
}

/**
 * The agent's links to every control plane it is configured with: one
 * ControlClient (one Register stream, reconnecting on its own) per address,
 * each sent the same reports and each obeyed for commands, so the agent stays
 * in every gateway's membership. Artifact and env fetches go to one control
 * plane, registered ones first, and fail over to the next when it is
 * unreachable or too slow; any other error (a missing artifact) is the answer.
 */
export class ControlPlanes {
  readonly clients: readonly ControlClient[];
  /** The client whose last fetch succeeded: tried first next time, so a dead one costs one failure, not one per fetch. */
  private preferred: ControlClient | undefined;

  constructor(options: ControlPlanesOptions) {
    if (options.addresses.length === 0) throw new Error("ControlPlanes needs at least one address");
    this.clients = options.addresses.map((address) => new ControlClient({ ...options, address }));
  }

  start(): void {
    for (const client of this.clients) client.start();
  }

  stop(): void {
    for (const client of this.clients) client.stop();
  }

  /** How many control planes have acknowledged this agent on an open stream. */
  get registeredCount(): number {
    return this.clients.filter((client) => client.isRegistered).length;
  }

  /** Sends a report on every open stream now (a drain state change must not wait for the heartbeat). */
  reportNow(): void {
    for (const client of this.clients) client.sendReport();
  }

  fetchArtifact(hash: string): Promise<Buffer> {
    return this.withFailover((client) => client.fetchArtifact(hash));
  }

  fetchEnv(tenantId: string, functionId: string): Promise<{ version: string; vars: Record<string, string> }> {
    return this.withFailover((client) => client.fetchEnv(tenantId, functionId));
  }

  /** Control planes in the order to try: registered ones first, and among equals the last that answered. */
  private order(): ControlClient[] {
    const rank = (client: ControlClient) => (client.isRegistered ? 0 : 2) + (client === this.preferred ? 0 : 1);
    return [...this.clients].sort((a, b) => rank(a) - rank(b));
  }

  private async withFailover<T>(call: (client: ControlClient) => Promise<T>): Promise<T> {
    let failure: unknown;
    for (const client of this.order()) {
      try {
        const result = await call(client);
        this.preferred = client;
        return result;
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        failure = err;
      }
    }
    throw failure;
  }
}

/** A failure of the control plane rather than an answer from it: another may do. */
function isUnreachable(err: unknown): boolean {
  const code = (err as Partial<grpc.ServiceError> | undefined)?.code;
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED;
}
