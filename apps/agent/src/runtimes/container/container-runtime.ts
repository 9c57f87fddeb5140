import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { IsleError } from "@isle/errors";
import type { ContainerArtifact } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import type { LogSink } from "../../logs/invocation-log.js";
import type {
  ArtifactSource,
  EnvSource,
  FunctionRuntime,
  IsolateSource,
  RuntimeLimits,
  RuntimeRequest,
  RuntimeResponse,
  RuntimeStatus,
} from "../runtime.js";
import { AppTrees } from "./app-trees.js";
import type { ContainerLimits } from "./bundle-spec.js";
import type { ContainerEvents } from "./cgroup-events.js";
import { proxyToContainer } from "./proxy.js";
import { ContainerReplica, ReplicaStartError } from "./replica.js";
import { RuncRunner } from "./runc-runner.js";

export interface ContainerRuntimeOptions {
  /** Bundles, runc's state and the functions' /app trees live here; owned by this runtime. */
  workDir: string;
  /** Holds one root filesystem per kind: `<rootfsDir>/python3`, `…/node`, `…/exec` (infra/rootfs/build.sh). */
  rootfsDir: string;
  artifacts: ArtifactSource;
  env: EnvSource;
  logger: Logger;
  /** The runc binary; `runc` on PATH when absent. */
  runc?: string;
  /** Limits of a replica whose request names none (a prewarm); memory and the wall timeout come from requests. */
  defaults?: Partial<ContainerLimits> & { wallTimeoutMs?: number };
  /** How long a container's server has to listen after it starts. */
  readyTimeoutMs?: number;
  /** How long a stopped replica gets between SIGTERM and SIGKILL. */
  stopGraceMs?: number;
  /**
   * Where the containers' socket directories live (`<socketRoot>/<id>/http.sock`):
   * short, so socket paths stay under Linux's 107 bytes. Default
   * `/run/isle-containers/<hash of workDir>`: one directory per agent, so
   * an agent's clean-up at start never touches another agent's sockets.
   */
  socketRoot?: string;
  /** Container id prefix and parent cgroup (tests keep theirs apart from an agent's). */
  idPrefix?: string;
  cgroupParent?: string;
  /** The ids the functions run as: the `isle` user of Isle's root filesystems. */
  uid?: number;
  gid?: number;
}

/** How long after an invocation ends its container's untagged output still counts as its own. */
const lateLineMs = 250;

/** Ended invocations whose tagged lines are still filed under them. */
const recentlyEnded = 32;

/** A watchdog's tag in front of a line: `\x1e<invocation id>\x1f` (ADR 0029). */
const taggedLine = /^\x1e([A-Za-z0-9_.:-]{1,128})\x1f/;

const defaultLimits: ContainerLimits = { memoryMb: 128, cpu: 1, pidsMax: 128, tmpMb: 64 };

/** What a replica is started from: the isolate's code and env, and its limits. */
interface ReplicaSource extends IsolateSource {
  limits: RuntimeLimits;
}

/** One function version (an isolate id) on this agent: at most one replica, and the invocations running on it. */
interface Slot {
  isolateId: string;
  artifactHash: string;
  replica: ContainerReplica | undefined;
  starting: Promise<ContainerReplica> | undefined;
  /** Invocations in flight, oldest first: the container's output lines go to the oldest. */
  active: Array<{ invocationId: string; logs: LogSink | undefined }>;
  /** Invocations that ended lately, newest last: tagged lines may still arrive for them, and untagged ones for the last. */
  ended: Array<{ invocationId: string; logs: LogSink | undefined; atMs: number }>;
  /** Unexpected exits in a row; the restart backoff grows with it, an answered request resets it. */
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
  lastSource: ReplicaSource | undefined;
}

/**
 * Runs container functions (ADR 0029): one runc container per function
 * version per agent, started by its first request or a prewarm, serving HTTP
 * on a Unix socket the agent proxies to (ADR 0028). Its replicas across
 * agents are the scaler's (the same as isolates'); within an agent its
 * server takes concurrent requests. A replica that dies while wanted is
 * started again with backoff; an evicted version's container is stopped.
 * Its output lines become the logs of the oldest invocation in flight on it
 * (the agent log when none is) — concurrent invocations of one replica
 * cannot be told apart in a shared stdout.
 */
export class ContainerRuntime implements FunctionRuntime {
  private readonly runner: RuncRunner;
  private readonly socketRoot: string;
  private readonly trees: AppTrees;
  private readonly slots = new Map<string, Slot>();
  private readonly logger: Logger;
  private readonly limits: ContainerLimits;
  private state: "new" | "started" | "stopped" = "new";

  constructor(private readonly options: ContainerRuntimeOptions) {
    this.logger = options.logger.child({ runtime: "container" });
    this.socketRoot = options.socketRoot ?? join("/run/isle-containers", createHash("sha256").update(options.workDir).digest("hex").slice(0, 12));
    this.runner = new RuncRunner({
      workDir: join(options.workDir, "bundles"),
      runc: options.runc,
      stopGraceMs: options.stopGraceMs ?? 2_000,
      idPrefix: options.idPrefix,
      cgroupParent: options.cgroupParent,
      socketRoot: this.socketRoot,
    });
    this.trees = new AppTrees(join(options.workDir, "apps"));
    this.limits = { ...defaultLimits, ...options.defaults };
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error("ContainerRuntime can be started once");
    const left = await this.runner.cleanupLeftovers();
    if (left.length > 0) this.logger.info({ containers: left.length }, "removed containers a previous agent left");
    this.state = "started";
  }

  async invoke(request: RuntimeRequest): Promise<RuntimeResponse> {
    const slot = this.slot(request);
    const invocation = { invocationId: request.invocationId, logs: request.logs };
    slot.active.push(invocation);
    const done = () => {
      const index = slot.active.indexOf(invocation);
      if (index !== -1) slot.active.splice(index, 1);
      slot.ended.push({ invocationId: request.invocationId, logs: request.logs, atMs: Date.now() });
      if (slot.ended.length > recentlyEnded) slot.ended.shift();
    };
    let replica: ContainerReplica | undefined;
    try {
      const limits = { memoryMb: request.limits?.memoryMb || this.limits.memoryMb, wallTimeoutMs: request.limits?.wallTimeoutMs || this.wallTimeoutMs() };
      const got = await this.replicaFor(slot, { ...request, limits });
      replica = got.replica;
      await replica.applyLimits({ ...this.limits, memoryMb: limits.memoryMb });
      const ready = replica;
      ready.inFlight++;
      const response = await proxyToContainer(ready.pool, request, () => {
        ready.inFlight--;
        done();
      });
      slot.crashes = 0;
      return { ...response, coldStart: got.coldStart };
    } catch (err) {
      done();
      throw await this.explain(err, replica);
    }
  }

  async prewarm(isolate: IsolateSource, timeoutMs: number): Promise<{ coldStart: boolean }> {
    const slot = this.slot(isolate);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IsleError("timeout", "the function's container did not start in time")), timeoutMs);
    });
    try {
      const { coldStart } = await Promise.race([this.replicaFor(slot, { ...isolate, limits: { memoryMb: this.limits.memoryMb, wallTimeoutMs: this.wallTimeoutMs() } }), timeout]);
      return { coldStart };
    } finally {
      clearTimeout(timer);
    }
  }

  abandonedVerdict(): Promise<"runaway" | "alive"> {
    // A container spinning on its CPU quota slows only itself: nothing to kill for others' sake.
    return Promise.resolve("alive");
  }

  /** Stops the replicas of evicted versions and removes their /app trees once no other version uses them. */
  async evict(isolateIds: readonly string[]): Promise<void> {
    const stopped: Slot[] = [];
    for (const id of isolateIds) {
      const slot = this.slots.get(id);
      if (!slot) continue;
      this.slots.delete(id);
      stopped.push(slot);
    }
    await Promise.all(stopped.map((slot) => this.stopSlot(slot, "evicted")));
    const inUse = new Set([...this.slots.values()].map((s) => s.artifactHash));
    for (const hash of new Set(stopped.map((s) => s.artifactHash))) {
      if (!inUse.has(hash)) await this.trees.remove(hash).catch(() => undefined);
    }
  }

  status(): RuntimeStatus {
    let processes = 0;
    let ready = 0;
    let inFlight = 0;
    for (const slot of this.slots.values()) {
      if (slot.replica) processes++;
      if (slot.replica?.running()) ready++;
      inFlight += slot.active.length;
    }
    return { processes, ready, inFlight };
  }

  /** The running replicas' container ids by isolate id (for tests and the operator's eyes). */
  containers(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [id, slot] of this.slots) if (slot.replica?.running()) out.set(id, slot.replica.id);
    return out;
  }

  /** The cgroup counters of an isolate's running replica (OOM kills, forks refused at pids.max). */
  events(isolateId: string): ContainerEvents | undefined {
    const replica = this.slots.get(isolateId)?.replica;
    return replica ? safeEvents(replica) : undefined;
  }

  async stop(): Promise<void> {
    this.state = "stopped";
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map((slot) => this.stopSlot(slot, "agent stopping")));
    rmSync(this.socketRoot, { recursive: true, force: true });
  }

  private slot(source: IsolateSource): Slot {
    let slot = this.slots.get(source.isolateId);
    if (!slot) {
      slot = {
        isolateId: source.isolateId,
        artifactHash: source.artifactHash,
        replica: undefined,
        starting: undefined,
        active: [],
        crashes: 0,
        restartTimer: undefined,
        lastSource: undefined,
        ended: [],
      };
      this.slots.set(source.isolateId, slot);
    }
    return slot;
  }

  /** The slot's running replica, or one started now (coldStart) — one start at a time per slot. */
  private async replicaFor(slot: Slot, source: ReplicaSource): Promise<{ replica: ContainerReplica; coldStart: boolean }> {
    if (this.state !== "started") throw new IsleError("unavailable", "the container runtime is not running");
    if (slot.replica?.running()) return { replica: slot.replica, coldStart: false };
    slot.lastSource = source;
    if (!slot.starting) {
      clearTimeout(slot.restartTimer);
      slot.starting = this.startReplica(slot, source).finally(() => (slot.starting = undefined));
    }
    return { replica: await slot.starting, coldStart: true };
  }

  private async startReplica(slot: Slot, source: ReplicaSource): Promise<ContainerReplica> {
    const started = Date.now();
    let bytes: Buffer;
    try {
      bytes = await this.options.artifacts.get(source.artifactHash);
    } catch {
      throw new IsleError("upstream_failed", "the function's code could not be fetched on this node");
    }
    const [{ path: appDir, artifact }, env] = await Promise.all([
      this.trees.ensure(source.artifactHash, bytes).catch(() => {
        throw new IsleError("internal", "the function's artifact is not a valid container artifact");
      }),
      this.options.env.get(source.envRef).catch(() => {
        throw new IsleError("upstream_failed", "the function's env could not be fetched on this node");
      }),
    ]);
    const rootfs = join(this.options.rootfsDir, artifact.rootfs);
    const command = readCommand(rootfs);
    const limits = { ...this.limits, memoryMb: source.limits.memoryMb };
    let replica: ContainerReplica;
    try {
      replica = await ContainerReplica.start({
        runner: this.runner,
        name: containerName(slot.isolateId),
        spec: {
          rootfs,
          args: command,
          env: containerEnv(env, artifact, source.limits),
          cwd: "/app",
          uid: this.options.uid ?? 65532,
          gid: this.options.gid ?? 65532,
          limits,
          mounts: [{ destination: "/app", source: appDir }],
        },
        readyTimeoutMs: this.options.readyTimeoutMs ?? 10_000,
        onLine: (stream, line) => this.output(slot, stream, line),
      });
    } catch (err) {
      if (!(err instanceof ReplicaStartError)) {
        // runc itself failed (cgroups, mounts, the bundle): this node's fault, not the function's;
        // `unavailable` lets the gateway try another replica.
        this.logger.error({ isolateId: slot.isolateId, err: err instanceof Error ? err.message : String(err) }, "runc could not start a container");
        throw new IsleError("unavailable", "this node could not start the function's container");
      }
      this.logger.warn({ isolateId: slot.isolateId, exitStatus: err.exitStatus, events: err.events, lastLines: err.lastLines.slice(-5) }, "container failed to start");
      throw new IsleError("function_error", `the function's container did not start: ${err.message}`);
    }
    if (this.state !== "started" || this.slots.get(slot.isolateId) !== slot) {
      // Evicted or stopping while it started: it is not wanted.
      void replica.stop(0);
      throw new IsleError("unavailable", "the function was evicted from this node while its container started");
    }
    slot.replica = replica;
    this.logger.info({ isolateId: slot.isolateId, container: replica.id, rootfs: artifact.rootfs, ms: Date.now() - started }, "container started");
    void replica.exited.then((status) => this.exited(slot, replica, status));
    return replica;
  }

  /** A replica's exit: expected when stopping, else logged and followed by a restart with backoff. */
  private exited(slot: Slot, replica: ContainerReplica, status: number): void {
    if (slot.replica === replica) slot.replica = undefined;
    if (replica.stopping) return;
    const events = safeEvents(replica);
    replica.exitEvents = events;
    void replica.stop(0).catch(() => undefined); // delete the stopped container and its cgroup
    slot.crashes++;
    const delayMs = Math.min(30_000, 500 * 2 ** (slot.crashes - 1));
    this.logger.warn({ isolateId: slot.isolateId, container: replica.id, status, events, restartInMs: delayMs }, "container exited");
    if (this.state !== "started" || this.slots.get(slot.isolateId) !== slot || !slot.lastSource) return;
    const source = slot.lastSource;
    clearTimeout(slot.restartTimer);
    slot.restartTimer = setTimeout(() => {
      if (slot.replica?.running() || slot.starting || this.slots.get(slot.isolateId) !== slot) return;
      this.replicaFor(slot, source).catch((err: unknown) =>
        this.logger.warn({ isolateId: slot.isolateId, code: err instanceof IsleError ? err.code : "internal" }, "container restart failed"),
      );
    }, delayMs);
    slot.restartTimer.unref();
  }

  private async stopSlot(slot: Slot, reason: string): Promise<void> {
    clearTimeout(slot.restartTimer);
    const replica = slot.replica ?? (await slot.starting?.catch(() => undefined));
    slot.replica = undefined;
    if (!replica) return;
    try {
      const result = await replica.stop(this.options.stopGraceMs ?? 2_000);
      this.logger.info({ isolateId: slot.isolateId, container: replica.id, reason, killed: result.killed }, "container stopped");
    } catch (err) {
      this.logger.warn({ isolateId: slot.isolateId, container: replica.id, reason, err: String(err) }, "container did not stop cleanly");
    }
  }

  /**
   * A line of container output, into its invocation's logs. The watchdogs tag
   * what a request's code writes with its invocation id; an untagged line
   * (a process the code started, output between requests) goes to the oldest
   * invocation in flight, or to the last one if it ended a moment ago (the
   * pipe may lag the socket), else to the agent's log.
   */
  private output(slot: Slot, stream: "stdout" | "stderr", line: string): void {
    const tagged = taggedLine.exec(line);
    let sink: LogSink | undefined;
    if (tagged) {
      line = line.slice(tagged[0].length);
      const id = tagged[1];
      sink = (slot.active.find((i) => i.invocationId === id) ?? slot.ended.find((i) => i.invocationId === id))?.logs;
    } else {
      const last = slot.ended.at(-1);
      sink = slot.active.length > 0 ? slot.active[0]?.logs : last && Date.now() - last.atMs < lateLineMs ? last.logs : undefined;
    }
    if (sink) {
      if (!sink.full) sink.add([{ unixMs: Date.now(), level: stream === "stderr" ? "error" : "log", message: line }], false);
      return;
    }
    this.logger.info({ isolateId: slot.isolateId, stream, line: line.slice(0, 2048) }, "container output");
  }

  /** A failed exchange, explained: a replica that died out of memory under it makes it `memory_limit`. */
  private async explain(err: unknown, replica: ContainerReplica | undefined): Promise<unknown> {
    if (!(err instanceof IsleError) || err.code !== "upstream_failed" || !replica) return err;
    const exited = await Promise.race([replica.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 500))]);
    if (exited && (replica.exitEvents ?? safeEvents(replica))?.oomKill) return new IsleError("memory_limit", "the function's container ran out of memory");
    return err;
  }

  private wallTimeoutMs(): number {
    return this.options.defaults?.wallTimeoutMs ?? 30_000;
  }
}

/** The root filesystem's entrypoint, from `/opt/isle/command` (ADR 0028). */
function readCommand(rootfs: string): string[] {
  const file = join(rootfs, "opt/isle/command");
  if (!existsSync(file)) throw new IsleError("unavailable", `this node has no root filesystem at ${rootfs}`);
  const command: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === "string")) {
    throw new IsleError("internal", `${file} is not a JSON list of strings`);
  }
  return command;
}

/**
 * The container's environment: the function's env vars and secrets on top of
 * a plain default, then the watchdog's own settings, which a function's env
 * cannot change.
 */
function containerEnv(env: Record<string, string>, artifact: ContainerArtifact, limits: RuntimeLimits): string[] {
  const vars: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: "/tmp",
    LANG: "C.UTF-8",
    ...Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("ISLE_"))),
    ISLE_APP: "/app",
    ISLE_EXEC_TIMEOUT: String(Math.max(1, Math.ceil(limits.wallTimeoutMs / 1000))),
    ...(artifact.rootfs === "exec" ? { ISLE_EXEC: `/app/${artifact.entry}` } : {}),
  };
  return Object.entries(vars).map(([name, value]) => `${name}=${value}`);
}

/** A unique, valid container name for an isolate: a hash of its id (ids carry ':'), and a random part. */
function containerName(isolateId: string): string {
  return `${createHash("sha256").update(isolateId).digest("hex").slice(0, 16)}-${randomBytes(3).toString("hex")}`;
}

function safeEvents(replica: ContainerReplica): ContainerEvents | undefined {
  try {
    return replica.events();
  } catch {
    return undefined;
  }
}
