import type { controlV1 } from "@isle/proto";
import { parseEnvRef } from "./env-cache.js";

/** A deployment as the control plane names it. */
export interface DeploymentKey {
  tenantId: string;
  functionId: string;
  deploymentId: string;
}

/** One isolate of a deployment: what it was loaded from. */
export interface LoadedIsolate {
  isolateId: string;
  artifactHash: string;
  envRef: string;
}

/** What an eviction leaves behind to free: caches no loaded deployment uses any more. */
export interface Evicted {
  isolates: LoadedIsolate[];
  /** Artifact hashes no other loaded deployment uses. */
  unusedArtifacts: string[];
  /** Env references no other loaded deployment uses. */
  unusedEnvRefs: string[];
}

interface Entry {
  key: DeploymentKey;
  inFlight: number;
  isolates: Map<string, LoadedIsolate>;
  /** Set by evict(): the entry leaves when its last invocation ends. */
  evicting: boolean;
}

/**
 * The deployments loaded on this agent and their invocations in flight, as
 * the agent reports them (`AgentReport.loaded`). The scaler sums `in_flight`
 * across agents, so each invocation is counted from `begin` to the one call
 * of its `end` that counts, however it ends.
 *
 * An evicted deployment stays until its in-flight invocations end, then
 * leaves; `onEvicted` hears what it leaves behind. An invocation that begins
 * while it waits cancels the eviction: the deployment is wanted here again.
 */
export class LoadedFunctions {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly onEvicted: (key: DeploymentKey, evicted: Evicted) => void = () => undefined) {}

  /** Counts one invocation of `key` in `isolate`; returns its end, which only its first call honours. */
  begin(key: DeploymentKey, isolate: LoadedIsolate): () => void {
    const entry = this.entry(key);
    entry.evicting = false;
    entry.isolates.set(isolate.isolateId, isolate);
    entry.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.inFlight--;
      if (entry.inFlight === 0 && entry.evicting) this.remove(entry);
    };
  }

  /** Records an isolate loaded without an invocation (prewarm). */
  loaded(key: DeploymentKey, isolate: LoadedIsolate): void {
    const entry = this.entry(key);
    entry.evicting = false;
    entry.isolates.set(isolate.isolateId, isolate);
  }

  /**
   * Takes `key` off this agent: at once when nothing of it runs, else when
   * its last in-flight invocation ends. Returns how many isolates leave.
   */
  evict(key: DeploymentKey): number {
    const entry = this.entries.get(idOf(key));
    if (!entry) return 0;
    const count = entry.isolates.size;
    entry.evicting = true;
    if (entry.inFlight === 0) this.remove(entry);
    return count;
  }

  /** In-flight invocations of `key` (0 when not loaded). */
  inFlight(key: DeploymentKey): number {
    return this.entries.get(idOf(key))?.inFlight ?? 0;
  }

  /** Isolates loaded for the deployments listed in reports. */
  get isolateCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) count += entry.isolates.size;
    return count;
  }

  /** The report's `loaded` list. */
  report(): controlV1.LoadedFunction[] {
    return [...this.entries.values()].map(({ key, inFlight }) => ({ ...key, inFlight }));
  }

  private entry(key: DeploymentKey): Entry {
    const id = idOf(key);
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { key: { tenantId: key.tenantId, functionId: key.functionId, deploymentId: key.deploymentId }, inFlight: 0, isolates: new Map(), evicting: false };
      this.entries.set(id, entry);
    }
    return entry;
  }

  private remove(entry: Entry): void {
    this.entries.delete(idOf(entry.key));
    const isolates = [...entry.isolates.values()];
    const artifacts = new Set<string>();
    const envRefs = new Set<string>();
    for (const other of this.entries.values()) {
      for (const isolate of other.isolates.values()) {
        artifacts.add(isolate.artifactHash);
        envRefs.add(isolate.envRef);
      }
    }
    this.onEvicted(entry.key, {
      isolates,
      unusedArtifacts: [...new Set(isolates.map((i) => i.artifactHash))].filter((hash) => !artifacts.has(hash)),
      unusedEnvRefs: [...new Set(isolates.map((i) => i.envRef))].filter((ref) => !envRefs.has(ref)),
    });
  }
}

function idOf(key: DeploymentKey): string {
  return `${key.tenantId}:${key.functionId}:${key.deploymentId}`;
}

/**
 * The isolate an invocation or a prewarm of `fn` with `envRef` runs in, or
 * undefined when the reference is not this function's. A new env version is
 * a new isolate: env is fixed when an isolate loads.
 */
export function isolateOf(
  fn: DeploymentKey & { artifactHash: string },
  envRef: string,
): LoadedIsolate | undefined {
  const env = parseEnvRef(envRef);
  if (!env || env.tenantId !== fn.tenantId || env.functionId !== fn.functionId) return undefined;
  return { isolateId: `${fn.tenantId}:${fn.deploymentId}:${fn.artifactHash}:${env.version}`, artifactHash: fn.artifactHash, envRef };
}
