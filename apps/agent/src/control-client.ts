import * as grpc from "@grpc/grpc-js";
import { controlV1, grpcChannelOptions } from "@isle/proto";
import type { Logger } from "@isle/telemetry";

export interface ControlClientOptions {
  address: string;
  /** How to reach the control plane: mutual TLS (control-tls.ts). */
  credentials: grpc.ChannelCredentials;
  /** Builds the report sent at registration and with every heartbeat. */
  report: () => controlV1.AgentReport;
  /** Commands from this control plane; `registered` included. */
  onCommand?: (command: controlV1.ControlCommand, address: string) => void;
  logger: Logger;
  heartbeatMs?: number;
}

/**
 * The agent's link to the control plane: one long-lived Register stream that
 * carries a report every heartbeat, reopened after any failure, and artifact
 * downloads by hash.
 */
export class ControlClient {
  private readonly client: controlV1.ControlPlaneClient;
  private stream: grpc.ClientDuplexStream<controlV1.AgentReport, controlV1.ControlCommand> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private stopped = false;
  private registered = false;
  /** Why the last attempt to register failed, said once rather than at every retry. */
  private lastFailure: string | undefined;

  constructor(private readonly options: ControlClientOptions) {
    this.client = new controlV1.ControlPlaneClient(options.address, options.credentials, grpcChannelOptions);
  }

  start(): void {
    this.open();
    this.heartbeat = setInterval(() => this.sendReport(), this.options.heartbeatMs ?? 1000);
  }

  get address(): string {
    return this.options.address;
  }

  /** Sends a report now, between heartbeats (a change the control plane must hear at once); no-op while disconnected. */
  sendReport(): void {
    this.stream?.write(this.options.report());
  }

  /** True while the control plane has acknowledged this agent on the open stream. */
  get isRegistered(): boolean {
    return this.registered;
  }

  async fetchArtifact(hash: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const call = this.client.getArtifact({ hash }, { deadline: Date.now() + 30_000 });
    for await (const chunk of call as AsyncIterable<controlV1.Chunk>) chunks.push(chunk.data);
    return Buffer.concat(chunks);
  }

  async fetchEnv(tenantId: string, functionId: string): Promise<{ version: string; vars: Record<string, string> }> {
    return new Promise((resolve, reject) =>
      this.client.getEnv({ tenantId, functionId }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) =>
        err ? reject(err) : resolve({ version: res.version, vars: res.vars }),
      ),
    );
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnect);
    this.stream?.cancel();
    this.client.close();
  }

  private open(): void {
    const { logger } = this.options;
    const stream = this.client.register();
    this.stream = stream;
    stream.on("data", (command: controlV1.ControlCommand) => {
      if (command.command?.$case === "registered") {
        if (!this.registered) logger.info({ address: this.options.address }, "registered with the control plane");
        this.registered = true;
        this.lastFailure = undefined;
      }
      this.options.onCommand?.(command, this.options.address);
    });
    const retry = (why: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.registered) logger.warn({ why, address: this.options.address }, "lost the control plane; reconnecting");
      // A refused certificate looks like any other failure to connect: say it, once.
      else if (why !== this.lastFailure) logger.warn({ why, address: this.options.address }, "cannot register with the control plane; retrying");
      this.lastFailure = why;
      this.registered = false;
      if (!this.stopped) this.reconnect = setTimeout(() => this.open(), 500);
    };
    stream.on("error", (err: grpc.ServiceError) => retry(err.details || err.message));
    stream.on("end", () => retry("stream ended"));
    stream.write(this.options.report());
  }
}
