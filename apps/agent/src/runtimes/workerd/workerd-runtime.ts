import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { IsleError } from "@isle/errors";
import type { Logger } from "@isle/telemetry";
import { CidrList } from "@isle/config";
import { EgressPolicy, type EgressPolicyOptions } from "../../egress/egress-policy.js";
import { InvocationRegistry } from "../../egress/invocation-registry.js";
import {
  defaultMaxSubrequests,
  maxUnixSocketPath,
  type ArtifactSource,
  type EnvSource,
  type FunctionRuntime,
  type IsolateSource,
  type RuntimeRequest,
  type RuntimeResponse,
  type RuntimeStatus,
} from "../runtime.js";
import { startArtifactServer, type ArtifactServer } from "./artifact-server.js";
import { toCapnpFile } from "./capnp.js";
import { buildWorkerdConfig } from "./config.js";
import { internalHeaders } from "./internal-headers.js";
import { invokeOn, supervisorError } from "./invoke.js";
import { ReplayableBody } from "../replayable-body.js";
import { MemoryCgroup } from "./memory-cgroup.js";
import { Recycler, type WorkerdRecycle } from "./recycler.js";
import { supervisorSource } from "./supervisor.js";
import { WorkerdProcess, type RestartPolicy } from "./workerd-process.js";

export interface WorkerdRuntimeOptions {
  /** Where config, supervisor and sockets live; created if missing, owned by this runtime. */
  workDir: string;
  artifacts: ArtifactSource;
  /** Env vars and secrets of isolates, by reference. */
  env: EnvSource;
  logger: Logger;
  /** workerd processes in the pool; one uses one core. Default: available parallelism. */
  processes?: number;
  /** Compatibility date of tenant isolates. */
  compatibilityDate?: string;
  /** Log the generated capnp config at start (the agent maps ISLE_DEBUG_WORKERD_CONFIG=1 here). */
  debugConfig?: boolean;
  /** The workerd binary; default: the one of the `workerd` npm package. */
  workerdBinary?: string;
  /**
   * util-linux setpriv, used to give workerd a parent-death SIGKILL so it
   * never outlives the agent, even one killed with SIGKILL. null: spawn
   * workerd directly (processes may then outlive a crashed agent).
   */
  setprivPath?: string | null;
  /** How long start() waits for every process to listen. */
  startTimeoutMs?: number;
  /** How long a process has to answer the liveness probe sent after a request is abandoned. */
  probeTimeoutMs?: number;
  /** Memory limit of each workerd process (cgroup v1); undefined: unbounded. */
  memoryLimitMb?: number;
  /** What functions may reach (ADR 0009); default: public addresses only, calls to a gateway on 127.0.0.1:8080. */
  egress?: EgressSettings;
  /** How often each busy process is checked for a blocked event loop (heartbeat probe); default 100 ms. */
  heartbeatMs?: number;
  /** A heartbeat unanswered this long marks the process stalled: no new requests while another is ready. Default 200 ms. */
  stalledAfterMs?: number;
  /** Request bodies up to this size are kept so the request can be retried on another process; default 1 MiB. */
  retryBodyBytes?: number;
  /** Called with the isolate id of an abandoned request whose process was then killed as stuck. */
  onRunaway?: (isolateId: string) => void;
  restart?: RestartPolicy;
  /**
   * Resident memory (bytes) past which a workerd process is recycled: drained
   * and restarted, which unloads its isolates (workerd never unloads a Worker
   * Loader isolate). Undefined: never; the process then grows with every
   * function it has run until it meets `memoryLimitMb`.
   */
  recycleBytes?: number;
  /** How often each process's memory is compared with `recycleBytes`; default 2 s. */
  recycleCheckMs?: number;
  /** How long a process being recycled waits for its requests to end before it is restarted anyway; default 30 s. */
  recycleDrainMs?: number;
  /**
   * With no other process ready (a pool of one), a draining process still
   * takes new requests for this long, then holds them until it has restarted,
   * so that a steady stream of requests cannot keep it from ever draining.
   * Default 1 s.
   */
  recycleHoldAfterMs?: number;
  /** Called after each recycle (the agent counts them). */
  onRecycle?: (recycle: WorkerdRecycle) => void;
}

export type { WorkerdRecycle } from "./recycler.js";

/** The egress policy's settings; the runtime adds the registry of its invocations. */
export type EgressSettings = Omit<EgressPolicyOptions, "registry">;

/** Bodies kept for a retry: most API payloads fit, and a full pool holds at most this per request. */
export const defaultRetryBodyBytes = 1024 * 1024;

const defaultRecycleCheckMs = 2_000;
const defaultRecycleDrainMs = 30_000;
const defaultRecycleHoldAfterMs = 1_000;

const defaultEgress: EgressSettings = {
  allow: new CidrList([]),
  deny: new CidrList([]),
  gatewayUrl: new URL("http://127.0.0.1:8080"),
  gatewayOrigins: ["http://127.0.0.1:8080"],
  domain: undefined,
};

/** Isolates get this date unless configured: fixed, so upgrading workerd changes nothing for tenants. */
export const defaultCompatibilityDate = "2026-11-01";

/**
 * Runs functions in workerd isolates: a pool of workerd processes, each with
 * the supervisor worker in front of a Worker Loader. A request goes to the
 * ready process with the fewest requests in flight (ties go to the isolate's
 * "home" process, so a lightly used function is loaded once, not in every
 * process). Processes that die are restarted; requests on them fail with
 * `upstream_failed`; with no process ready, invoke fails with `unavailable`.
 * A process whose memory passes `recycleBytes` is recycled, one at a time:
 * new requests go to the others, its own end, and it restarts empty; its
 * isolates load again (cold) on their next request.
 */
export class WorkerdRuntime implements FunctionRuntime {
  private readonly options: WorkerdRuntimeOptions;
  private readonly logger: Logger;
  private processes: WorkerdProcess[] = [];
  private artifactServer: ArtifactServer | undefined;
  private state: "new" | "started" | "stopped" = "new";
  private readonly probing = new Map<WorkerdProcess, Promise<"runaway" | "alive">>();
  private readonly groups: MemoryCgroup[] = [];
  /** The liveness check each abandoned request started, by its signal. */
  private readonly verdicts = new WeakMap<AbortSignal, Promise<"runaway" | "alive">>();
  private readonly invocations = new InvocationRegistry();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Isolates that have answered at least once: bystanders, not suspects, when their process runs out of memory. */
  private readonly answered = new BoundedSet<string>(100_000);
  private readonly beating = new Set<WorkerdProcess>();
  private recycler: Recycler | undefined;

  constructor(options: WorkerdRuntimeOptions) {
    this.options = options;
    this.logger = options.logger.child({ runtime: "workerd" });
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error("WorkerdRuntime can be started once");
    this.state = "started";
    const { workDir, artifacts } = this.options;
    const count = this.options.processes ?? availableParallelism();
    const artifactSocket = join(workDir, "artifacts.sock");
    const socketPaths = Array.from({ length: count }, (_, i) => join(workDir, `workerd-${i}.sock`));
    for (const path of [artifactSocket, ...socketPaths]) {
      if (Buffer.byteLength(path) > maxUnixSocketPath) throw new Error(`socket path too long for Linux: ${path}`);
    }

    await mkdir(workDir, { recursive: true });
    const configPath = join(workDir, "workerd.capnp");
    const egress = this.options.egress ?? defaultEgress;
    const config = toCapnpFile(
      buildWorkerdConfig({
        supervisorFile: "supervisor.js",
        artifactSocket,
        compatibilityDate: this.options.compatibilityDate ?? defaultCompatibilityDate,
        network: { allow: egress.allow.entries, deny: egress.deny.entries },
        gatewayAddress: hostAndPort(egress.gatewayUrl),
      }),
    );
    await writeFile(join(workDir, "supervisor.js"), supervisorSource);
    await writeFile(configPath, config);
    if (this.options.debugConfig) this.logger.info({ configPath, config }, "workerd config");

    this.artifactServer = await startArtifactServer({
      socketPath: artifactSocket,
      artifacts,
      env: this.options.env,
      egress: new EgressPolicy({ ...egress, registry: this.invocations }),
      logs: this.invocations,
      logger: this.logger,
    });
    const command = this.command();
    this.processes = socketPaths.map(
      (socketPath, index) =>
        new WorkerdProcess({
          index,
          command,
          configPath,
          socketPath,
          logger: this.logger,
          restart: this.options.restart,
          memory: this.memoryGroup(index),
        }),
    );
    for (const proc of this.processes) proc.start();
    try {
      await Promise.all(this.processes.map((p) => p.whenReady(this.options.startTimeoutMs ?? 15_000)));
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.heartbeat = setInterval(() => this.checkBusyProcesses(), this.options.heartbeatMs ?? 100);
    this.heartbeat.unref();
    if (this.options.recycleBytes !== undefined) {
      this.recycler = new Recycler({
        processes: () => this.processes,
        budgetBytes: this.options.recycleBytes,
        checkMs: this.options.recycleCheckMs ?? defaultRecycleCheckMs,
        drainMs: this.options.recycleDrainMs ?? defaultRecycleDrainMs,
        readyTimeoutMs: this.options.startTimeoutMs ?? 15_000,
        logger: this.logger,
        onRecycle: this.options.onRecycle,
      });
      this.recycler.start();
    }
    this.logger.info({ processes: count, pids: this.pids() }, "workerd pool ready");
  }

  /**
   * The early warning of the watchdog: a spinning request blocks its whole
   * process long before its deadline lets the watchdog kill it, and until
   * then the process still looks least loaded to pick(). Each busy process
   * gets a heartbeat probe; one that goes unanswered marks it stalled, so
   * new requests go to the others, until the probe is answered (or the
   * process is killed and restarts).
   */
  private checkBusyProcesses(): void {
    const stalledAfterMs = this.options.stalledAfterMs ?? 200;
    for (const proc of this.processes) {
      if (proc.inFlight === 0 || !proc.dispatcher || this.beating.has(proc)) continue;
      this.beating.add(proc);
      const mark = setTimeout(() => (proc.stalled = true), stalledAfterMs);
      // No timeout of its own that matters: it ends with an answer or with the process.
      void proc.probe(10 * 60_000).then(() => {
        clearTimeout(mark);
        proc.stalled = false;
        this.beating.delete(proc);
      });
    }
  }

  invoke(request: RuntimeRequest): Promise<RuntimeResponse> {
    const first = this.pick(request.isolateId);
    if (first) return this.dispatch(first, request);
    return this.pickAfterRecycle(request.isolateId, request.signal).then((proc) => {
      if (!proc) throw new IsleError("unavailable", "no workerd process is ready");
      return this.dispatch(proc, request);
    });
  }

  /**
   * With a pool of one, no process is ready for a moment of each recycle: the
   * process for `isolateId` once the recycle under way has ended (rejects
   * when `signal` aborts first); undefined at once when none is under way.
   */
  private async pickAfterRecycle(isolateId: string, signal: AbortSignal): Promise<WorkerdProcess | undefined> {
    if (!this.recycler?.current) return undefined;
    await this.recycler.ended(signal);
    return this.pick(isolateId);
  }

  private dispatch(first: WorkerdProcess, request: RuntimeRequest): Promise<RuntimeResponse> {
    const ended = this.invocations.begin(request.invocationId, {
      isolateId: request.isolateId,
      tenantName: request.egress?.tenantName ?? "",
      maxSubrequests: request.egress?.maxSubrequests ?? defaultMaxSubrequests,
      callToken: request.egress?.callToken ?? "",
      traceparent: request.egress?.traceparent ?? "",
      tracestate: request.egress?.tracestate ?? "",
    }, request.logs);
    return this.invokeWithRetry(first, request).then(
      (response) => {
        response.body.once("close", ended);
        return response;
      },
      (err: unknown) => {
        ended();
        throw err;
      },
    );
  }

  private async invokeWithRetry(first: WorkerdProcess, request: RuntimeRequest): Promise<RuntimeResponse> {
    const replay = request.body ? new ReplayableBody(request.body, this.options.retryBodyBytes ?? defaultRetryBodyBytes) : undefined;
    const attempt = () => ({ ...request, body: replay?.attempt() ?? null });
    let response: RuntimeResponse;
    try {
      response = await this.invokeOnProcess(first, attempt());
    } catch (err) {
      // The process died under it: seen as a broken connection, or, when the
      // exit was noticed first, as the pool's own memory_limit (workerd-process.ts).
      const failed = err instanceof IsleError && (err.code === "upstream_failed" || err.code === "memory_limit");
      // The wait is for the exit of a process the kernel is tearing down (hundreds of MB): on a
      // busy 2-core host 500 ms was sometimes too short, and the culprit got upstream_failed.
      const outOfMemory =
        failed && (err.code === "memory_limit" || (this.options.memoryLimitMb !== undefined && (await first.brokeOutOfMemory(2000))));
      // The process's memory is shared by all its isolates, so which one grew
      // is unknown. An isolate that has answered here before is taken to be a
      // bystander and retried like any other; one that never answered (the
      // bomb never does) gets memory_limit.
      if (outOfMemory && !this.answered.has(request.isolateId)) {
        throw new IsleError("memory_limit", "the function's runtime ran out of memory");
      }
      // A request that shared a process with a spinning function dies with it.
      // Run it once more elsewhere, with its whole body again (DESIGN §5
      // allows a retry when no byte of the response was sent, which holds
      // here: we never got its head). Bodies too large to keep are not retried.
      const innocent = failed && (replay?.replayable ?? true) && !request.signal.aborted;
      const second = innocent ? this.pick(request.isolateId, first) : undefined;
      if (!second) throw err;
      this.logger.info({ invocationId: request.invocationId }, "retrying on another workerd process");
      response = await this.invokeOnProcess(second, attempt());
    }
    this.answered.add(request.isolateId);
    return response;
  }

  private invokeOnProcess(proc: WorkerdProcess, request: RuntimeRequest): Promise<RuntimeResponse> {
    const pool = proc.dispatcher;
    if (!pool) return Promise.reject(new IsleError("upstream_failed", "the workerd process is not ready"));
    proc.began();
    // An abandoned request (deadline, caller gone) may be one that spins:
    // check the process still answers, and kill it if not.
    const onAbort = () => this.verdicts.set(request.signal, this.checkAlive(proc, request.isolateId));
    request.signal.addEventListener("abort", onAbort, { once: true });
    return invokeOn(pool, request, () => {
      proc.ended();
      request.signal.removeEventListener("abort", onAbort);
    }, this.logger);
  }

  /**
   * Loads the isolate in the process its first request would go to when the
   * pool is idle (its home process, see pick()). Other processes load it on
   * their own first request. A load that outlasts `timeoutMs` (top-level
   * code that spins) gets the watchdog's liveness check like an abandoned request.
   */
  async prewarm(isolate: IsolateSource, timeoutMs: number): Promise<{ coldStart: boolean }> {
    const signal = AbortSignal.timeout(timeoutMs);
    const proc = this.pick(isolate.isolateId) ?? (await this.pickAfterRecycle(isolate.isolateId, signal).catch(() => undefined));
    const pool = proc?.dispatcher;
    if (!proc || !pool) throw new IsleError("unavailable", "no workerd process is ready");
    proc.began();
    try {
      const res = await pool.request({
        path: "/",
        method: "GET",
        headers: {
          [internalHeaders.prewarm]: "1",
          [internalHeaders.isolateId]: isolate.isolateId,
          [internalHeaders.artifact]: isolate.artifactHash,
          [internalHeaders.env]: isolate.envRef,
        },
        signal,
      });
      await res.body.dump();
      const failure = res.headers[internalHeaders.error];
      if (failure !== undefined) throw supervisorError(String(failure));
      if (res.statusCode !== 204) throw new IsleError("internal", `the workerd supervisor answered a prewarm with ${res.statusCode}`);
      return { coldStart: res.headers[internalHeaders.coldStart] === "1" };
    } catch (err) {
      if (err instanceof IsleError) throw err;
      if (signal.aborted) {
        void this.checkAlive(proc, isolate.isolateId);
        throw new IsleError("timeout", "the function's isolate did not load in time");
      }
      throw new IsleError("upstream_failed", "the workerd process failed while loading the isolate");
    } finally {
      proc.ended();
    }
  }

  abandonedVerdict(signal: AbortSignal): Promise<"runaway" | "alive"> {
    return this.verdicts.get(signal) ?? Promise.resolve("alive");
  }

  /**
   * The watchdog's liveness check: one probe at a time per process; a
   * process that does not answer in time is SIGKILLed and restarts, and the
   * requests it held fail with `upstream_failed`.
   */
  private async checkAlive(proc: WorkerdProcess, isolateId: string): Promise<"runaway" | "alive"> {
    const running = this.probing.get(proc);
    if (running) return running;
    if (this.state !== "started") return "alive";
    const check = this.probe(proc, isolateId);
    this.probing.set(proc, check);
    return check;
  }

  private async probe(proc: WorkerdProcess, isolateId: string): Promise<"runaway" | "alive"> {
    proc.suspect = true;
    const pid = proc.pid;
    try {
      const alive = await proc.probe(this.options.probeTimeoutMs ?? 1000);
      if (!alive && proc.pid === pid && this.state === "started") {
        proc.kill("did not answer the liveness probe after an abandoned request");
        this.options.onRunaway?.(isolateId);
        return "runaway";
      }
      return "alive";
    } finally {
      this.probing.delete(proc);
      proc.suspect = false;
    }
  }

  status(): RuntimeStatus {
    let ready = 0;
    let inFlight = 0;
    for (const proc of this.processes) {
      // A process being recycled counts as ready: requests wait the moment it takes to restart.
      if (proc.dispatcher || proc === this.recycler?.current) ready++;
      inFlight += proc.inFlight;
    }
    return { processes: this.processes.length, ready, inFlight };
  }

  /** Pids of the running workerd processes (for the watchdog and tests). */
  pids(): number[] {
    return this.processes.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  async stop(): Promise<void> {
    this.state = "stopped";
    clearInterval(this.heartbeat);
    this.recycler?.stop();
    await Promise.all(this.processes.map((p) => p.stop()));
    for (const group of this.groups.splice(0)) group.remove();
    await this.artifactServer?.close();
    this.artifactServer = undefined;
  }

  /**
   * Least in flight among ready processes, scanning from the isolate's home
   * process; a process under a liveness probe or stalled, or draining before
   * a recycle, only when no other is ready (a draining one only early in its
   * drain, then requests wait for the recycle to end).
   */
  private pick(isolateId: string, exclude?: WorkerdProcess): WorkerdProcess | undefined {
    const count = this.processes.length;
    if (this.state !== "started" || count === 0) return undefined;
    const home = fnv1a(isolateId) % count;
    const holdAfterMs = this.options.recycleHoldAfterMs ?? defaultRecycleHoldAfterMs;
    const held = (p: WorkerdProcess) => p.draining && Date.now() - p.drainingSince >= holdAfterMs;
    let best: WorkerdProcess | undefined;
    const avoided = (p: WorkerdProcess) => p.suspect || p.stalled || p.draining;
    const better = (a: WorkerdProcess, b: WorkerdProcess | undefined) =>
      !b || (avoided(a) !== avoided(b) ? !avoided(a) : a.inFlight < b.inFlight);
    for (let i = 0; i < count; i++) {
      const candidate = this.processes[(home + i) % count];
      if (!candidate?.dispatcher || candidate === exclude || held(candidate)) continue;
      if (better(candidate, best)) best = candidate;
    }
    return best;
  }

  private memoryGroup(index: number): MemoryCgroup | undefined {
    const { memoryLimitMb } = this.options;
    if (memoryLimitMb === undefined) return undefined;
    const name = `isle-workerd-${process.pid}-${index}`;
    const group = MemoryCgroup.create(name, memoryLimitMb * 1024 * 1024);
    if (!group) this.logger.warn({ memoryLimitMb }, "no cgroup v1 memory controller here: workerd memory is unbounded");
    this.groups.push(...(group ? [group] : []));
    return group;
  }

  private command(): string[] {
    const binary = this.options.workerdBinary ?? workerdPackageBinary();
    const setpriv = this.options.setprivPath === undefined ? "/usr/bin/setpriv" : this.options.setprivPath;
    if (setpriv === null) return [binary];
    if (!existsSync(setpriv)) {
      this.logger.warn({ setpriv }, "setpriv not found: workerd processes may outlive a crashed agent");
      return [binary];
    }
    return [setpriv, "--pdeathsig", "SIGKILL", "--", binary];
  }
}

/** A set that forgets its oldest entries past `max`, so a long-lived agent's memory stays bounded. */
class BoundedSet<T> {
  private readonly items = new Set<T>();
  constructor(private readonly max: number) {}

  add(item: T): void {
    if (this.items.has(item)) return;
    this.items.add(item);
    if (this.items.size > this.max) {
      const oldest = this.items.values().next();
      if (!oldest.done) this.items.delete(oldest.value);
    }
  }

  has(item: T): boolean {
    return this.items.has(item);
  }
}

/** `host:port` of a URL, with the scheme's default port when it names none. */
function hostAndPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/** Path of the workerd binary installed by the `workerd` npm package (a CommonJS module). */
function workerdPackageBinary(): string {
  const workerd = createRequire(import.meta.url)("workerd") as { default: string };
  return workerd.default;
}

/** 32-bit FNV-1a: a cheap, stable spread of isolate ids over processes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
