import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { maxUnixSocketPath } from "../runtime.js";
import type { ContainerLimits } from "./bundle-spec.js";
import type { ContainerEvents } from "./cgroup-events.js";
import { forEachLine } from "./output-lines.js";
import type { ContainerSpec, RuncContainer, RuncRunner, StopResult } from "./runc-runner.js";

/** The socket the function's server listens on, in the directory mounted at /run/isle (ADR 0028). */
export const socketName = "http.sock";


export interface ReplicaStartOptions {
  runner: RuncRunner;
  /** Container name; the runner prefixes it. Unique on this host. */
  name: string;
  spec: ContainerSpec;
  /** How long the server has to put its socket in place. */
  readyTimeoutMs: number;
  /** Each line the container writes; stderr lines include the watchdog's own. */
  onLine: (stream: "stdout" | "stderr", line: string) => void;
}

/** Why a replica did not become ready: its exit status (or undefined for a timeout) and its last words. */
export class ReplicaStartError extends Error {
  constructor(
    message: string,
    readonly exitStatus: number | undefined,
    readonly lastLines: string[],
    readonly events: ContainerEvents | undefined,
  ) {
    super(message);
  }
}

/**
 * One running container of a function, serving HTTP on its Unix socket
 * through an undici pool. `exited` resolves when its first process is gone
 * (killed, crashed, out of memory); it is then of no further use.
 */
export class ContainerReplica {
  /** Requests being proxied to it now. */
  inFlight = 0;
  /** Set by the runtime once it chose to stop this replica: its exit is then expected. */
  stopping = false;
  /** The cgroup's counters when it exited unasked, read before its group was removed. */
  exitEvents: ContainerEvents | undefined;
  readonly startedAt = Date.now();

  private constructor(
    private readonly container: RuncContainer,
    readonly pool: Pool,
    private limits: ContainerLimits,
  ) {}

  /** Starts the container and resolves once its server accepts connections; rejects with a ReplicaStartError. */
  static async start(options: ReplicaStartOptions): Promise<ContainerReplica> {
    const container = await options.runner.run(options.name, options.spec);
    const lastLines: string[] = [];
    const keep = (stream: "stdout" | "stderr") => (line: string) => {
      lastLines.push(line);
      if (lastLines.length > 20) lastLines.shift();
      options.onLine(stream, line);
    };
    forEachLine(container.stdout, keep("stdout"));
    forEachLine(container.stderr, keep("stderr"));

    const socketPath = join(container.socketDir, socketName);
    if (Buffer.byteLength(socketPath) > maxUnixSocketPath) {
      await container.stop(0).catch(() => undefined);
      throw new Error(`the container's socket path is too long for Linux (${Buffer.byteLength(socketPath)} > ${maxUnixSocketPath} bytes): ${socketPath}`);
    }
    const deadline = Date.now() + options.readyTimeoutMs;
    let exitStatus: number | undefined;
    void container.exited.then((status) => (exitStatus = status));
    // The watchdog renames its socket into place once it accepts: polling for
    // the name is the readiness check, and a few milliseconds is well below a
    // process start.
    while (!existsSync(socketPath)) {
      if (exitStatus !== undefined || Date.now() >= deadline) {
        const timedOut = exitStatus === undefined;
        const { events } = await container.stop(0).catch(() => ({ events: undefined }));
        await sleep(20); // let the last output lines arrive
        throw new ReplicaStartError(
          timedOut ? `the container's server did not listen within ${options.readyTimeoutMs} ms` : `the container exited with status ${exitStatus} before it was ready`,
          exitStatus,
          [...lastLines],
          events,
        );
      }
      await sleep(3);
    }
    const pool = new Pool("http://container", {
      connect: { socketPath },
      // Keep-alive connections to one local server; it is the server's job to serve them concurrently.
      connections: 64,
      keepAliveTimeout: 30_000,
    });
    return new ContainerReplica(container, pool, options.spec.limits);
  }

  get id(): string {
    return this.container.id;
  }

  get exited(): Promise<number> {
    return this.container.exited;
  }

  running(): boolean {
    return this.container.running();
  }

  events(): ContainerEvents {
    return this.container.events();
  }

  /**
   * Applies a function's limits to the running container (`runc update`)
   * when they differ from those it was started with: a replica started by a
   * prewarm has the agent's defaults until a request says otherwise.
   */
  async applyLimits(limits: ContainerLimits): Promise<void> {
    const current = this.limits;
    if (current.memoryMb === limits.memoryMb && current.cpu === limits.cpu && current.pidsMax === limits.pidsMax) return;
    this.limits = { ...limits, tmpMb: current.tmpMb };
    await this.container.update(limits);
  }

  /** Stops the container (SIGTERM, SIGKILL after `graceMs`) and closes the pool. */
  async stop(graceMs: number): Promise<StopResult> {
    this.stopping = true;
    const result = await this.container.stop(graceMs);
    await this.pool.destroy().catch(() => undefined);
    return result;
  }
}
