import { advisoryLockKeys, listScalingSubjects, setFunctionReplicas, type Database, type IsleDb, type ScalingSubject } from "@isle/db";
import type { controlV1 } from "@isle/proto";
import {
  capToTenantQuota,
  ConcurrencyWindow,
  decide,
  resolveScaleSpec,
  scaleSpecFromSettings,
  scaleSpecProblem,
  type ScaleSpec,
} from "@isle/scaler";
import type { Logger } from "@isle/telemetry";
import type { Membership } from "../control/membership.js";
import { rankByRendezvous } from "./rendezvous.js";
import type { ReplicaTable } from "./replica-table.js";

export interface ScalerLoopDeps {
  database: Database;
  membership: Membership;
  replicas: ReplicaTable;
  /** This gateway's requests waiting for a function to start, per function. */
  buffered: () => ReadonlyMap<string, number>;
  logger: Logger;
  /** Platform defaults under each function's own scale settings. */
  defaults?: Partial<ScaleSpec>;
  /** A tenant's replicas over all its functions when its quotas name none. Default 100. */
  tenantMaxReplicas?: number;
  /** Decision interval; also how often a follower tries to become the leader. Default 1 s. */
  tickMs?: number;
  /** How long a function stays loaded, idle, on an agent that is not its replica before it is evicted there. Default 5 s. */
  evictAfterMs?: number;
  now?: () => number;
}

/** What the loop remembers of one function between decisions. */
interface FunctionState {
  window: ConcurrencyWindow;
  panicTriggeredAtMs: number | null;
  /** When the loop first saw it: a function just activated counts as active from then. */
  firstSeenMs: number;
}

/**
 * The scaler (DESIGN.md §8): on the one gateway holding the scaler lock
 * (a Postgres advisory lock; it moves to another gateway when the leader's
 * connection dies), once a second: sample each function's concurrency from
 * the agents' reports (and requests waiting here to start), decide with
 * the KPA policy, cap by the tenant's quota, store the new counts (every
 * gateway places by them), prewarm new replicas, and evict functions from
 * agents that are no longer their replicas once they sit idle there.
 */
export class ScalerLoop {
  private readonly states = new Map<string, FunctionState>();
  /** `agent/function` → since when it sits idle on an agent that is not its replica. */
  private readonly strayed = new Map<string, number>();
  private readonly evicted = new Map<string, number>();
  private stopped = false;
  private leading = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly tickMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: ScalerLoopDeps) {
    this.tickMs = deps.tickMs ?? 1000;
    this.now = deps.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.running = this.campaign();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  /** Tries for the lock every tick; while held, decides every tick. */
  private async campaign(): Promise<void> {
    const { database, logger } = this.deps;
    while (!this.stopped) {
      try {
        await database.tryWithAdvisoryLock(advisoryLockKeys.scalerLeader, async (db) => {
          this.leading = true;
          logger.info("leading the scaler");
          // Decisions made under an earlier leadership may be stale: start from what the database says.
          this.states.clear();
          while (!this.stopped) {
            await this.tick(db);
            await this.sleep();
          }
        });
      } catch (err) {
        logger.warn({ err }, "scaler leadership lost; trying again");
      }
      if (this.leading) logger.info("no longer leading the scaler");
      this.leading = false;
      if (!this.stopped) await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.tickMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One round of decisions and actions; public for tests that drive time themselves. */
  async tick(db: IsleDb): Promise<void> {
    const now = this.now();
    const { membership, replicas, logger } = this.deps;
    const healthy = membership.healthy();
    const load = new Map<string, number>();
    for (const agent of healthy) for (const f of agent.loaded) load.set(f.functionId, (load.get(f.functionId) ?? 0) + f.inFlight);
    const buffered = this.deps.buffered();
    for (const [functionId, waiting] of buffered) load.set(functionId, (load.get(functionId) ?? 0) + waiting);

    const subjects = await listScalingSubjects(db, [...load.keys()]);
    const byTenant = new Map<string, ScalingSubject[]>();
    const claims = new Map<string, { functionId: string; replicas: number; targetConcurrency: number }>();
    /** Why the policy decided as it did (stable, panic, activation…), for the log line of a change. */
    const reasons = new Map<string, string>();
    for (const subject of subjects) {
      const spec = this.specOf(subject);
      let state = this.states.get(subject.functionId);
      if (!state) {
        state = { window: new ConcurrencyWindow(spec), panicTriggeredAtMs: null, firstSeenMs: now };
        this.states.set(subject.functionId, state);
      }
      state.window.record(now, load.get(subject.functionId) ?? 0);
      const summary = state.window.summary(now);
      const decision = decide(
        spec,
        {
          ...summary,
          lastActiveAtMs: Math.max(summary.lastActiveAtMs ?? state.firstSeenMs, state.firstSeenMs),
          replicas: replicas.replicas(subject.functionId),
          pendingRequests: buffered.get(subject.functionId) ?? 0,
          panicTriggeredAtMs: state.panicTriggeredAtMs,
        },
        now,
      );
      state.panicTriggeredAtMs = decision.panicTriggeredAtMs;
      claims.set(subject.functionId, { functionId: subject.functionId, replicas: decision.replicas, targetConcurrency: spec.targetConcurrency });
      reasons.set(subject.functionId, decision.reason);
      byTenant.set(subject.tenantId, [...(byTenant.get(subject.tenantId) ?? []), subject]);
    }
    const seen = new Set(subjects.map((s) => s.functionId));
    for (const functionId of this.states.keys()) if (!seen.has(functionId)) this.states.delete(functionId);

    for (const [tenantId, tenantSubjects] of byTenant) {
      const quotas = tenantSubjects[0]!.quotas;
      const quota = {
        maxReplicas: quotas.maxReplicas ?? this.deps.tenantMaxReplicas ?? 100,
        ...(quotas.maxConcurrency !== undefined ? { maxConcurrency: quotas.maxConcurrency } : {}),
      };
      const grants = capToTenantQuota(quota, tenantSubjects.map((s) => claims.get(s.functionId)!));
      for (const grant of grants) {
        const current = replicas.replicas(grant.functionId);
        if (grant.replicas === current) continue;
        await setFunctionReplicas(db, tenantId, grant.functionId, grant.replicas);
        replicas.apply({ tenantId, functionId: grant.functionId, replicas: grant.replicas });
        logger.info({ tenantId, functionId: grant.functionId, from: current, to: grant.replicas, reason: reasons.get(grant.functionId), capped: grant.capped }, "scaled");
        if (grant.replicas > current) this.prewarm(tenantSubjects.find((s) => s.functionId === grant.functionId)!, current, grant.replicas);
      }
    }
    this.evictStrays(now);
  }

  private specOf(subject: ScalingSubject): ScaleSpec {
    const own = { ...this.deps.defaults, ...scaleSpecFromSettings(subject.scale) };
    const problem = scaleSpecProblem(own);
    if (!problem) return resolveScaleSpec(own);
    this.deps.logger.warn({ functionId: subject.functionId, problem: problem.message }, "scale settings out of range; using the defaults");
    return resolveScaleSpec(this.deps.defaults);
  }

  /** Tells the function's new replicas to load it, so their first requests are warm. */
  private prewarm(subject: ScalingSubject, from: number, to: number): void {
    if (!subject.deploymentId || !subject.artifactHash) return;
    const ranked = rankByRendezvous(subject.functionId, this.deps.membership.healthy(), (m) => m.agentId);
    const target: controlV1.FunctionTarget = {
      tenantId: subject.tenantId,
      functionId: subject.functionId,
      deploymentId: subject.deploymentId,
      artifactHash: subject.artifactHash,
      // Empty: the agent loads the function's current env (one GetEnv), as its first request would.
      envRef: "",
    };
    for (const agent of ranked.slice(from, to)) this.deps.membership.send(agent.agentId, { command: { $case: "prewarm", value: target } });
  }

  /**
   * Evicts a function from an agent that is not among its replicas, once it
   * has run nothing there for `evictAfterMs` (a gateway may still finish
   * requests there after a scale-down, or place one there while a replica is
   * ejected); one command per agent and function per interval.
   */
  private evictStrays(now: number): void {
    const { membership, replicas } = this.deps;
    const evictAfterMs = this.deps.evictAfterMs ?? 5000;
    const healthy = membership.healthy();
    // Each function's replica set, worked out once per tick however many agents hold it.
    const replicaSets = new Map<string, Set<string>>();
    const replicaSet = (functionId: string) => {
      let set = replicaSets.get(functionId);
      if (!set) {
        const ranked = rankByRendezvous(functionId, healthy, (m) => m.agentId);
        set = new Set(ranked.slice(0, replicas.replicas(functionId)).map((m) => m.agentId));
        replicaSets.set(functionId, set);
      }
      return set;
    };
    const live = new Set<string>();
    for (const agent of membership.all()) {
      for (const f of agent.loaded) {
        const key = `${agent.agentId}/${f.functionId}`;
        if (f.inFlight > 0 || replicaSet(f.functionId).has(agent.agentId)) continue;
        live.add(key);
        const since = this.strayed.get(key) ?? now;
        this.strayed.set(key, since);
        if (now - since < evictAfterMs || now - (this.evicted.get(key) ?? -Infinity) < evictAfterMs) continue;
        this.evicted.set(key, now);
        const target: controlV1.FunctionTarget = { tenantId: f.tenantId, functionId: f.functionId, deploymentId: f.deploymentId, artifactHash: "", envRef: "" };
        membership.send(agent.agentId, { command: { $case: "evict", value: target } });
      }
    }
    for (const key of this.strayed.keys()) if (!live.has(key)) this.strayed.delete(key);
    for (const [key, at] of this.evicted) if (now - at > 10 * evictAfterMs) this.evicted.delete(key);
  }
}
