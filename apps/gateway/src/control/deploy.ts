import {
  activateDeployment,
  createDeployment,
  findFunction,
  listFunctionSecrets,
  putArtifact,
  replaceSchedules,
  type Deployment,
  type FunctionRow,
  type IsleDb,
  type Tenant,
} from "@isle/db";
import { bundleFunction, type BuiltArtifact } from "./build/bundle.js";
import { packContainer } from "./build/container-pack.js";
import { checkRequiredEnv, readRepoConfig, type RepoConfig } from "./build/repo-config.js";
import type { SourceFile } from "./build/source-files.js";
import type { TargetResolver } from "../invoke/target-resolver.js";
import { saveFunction } from "../routes/functions/views.js";
import { checkScheduleIntervals, scheduleInputs } from "../schedules/schedule-inputs.js";

/** What building and activating a version needs. */
export interface DeployDeps {
  db: IsleDb;
  resolver: TargetResolver;
  limits: { maxBundleBytes: number; buildCacheDir?: string | undefined };
  /** The platform's limit on schedules (ISLE_SCHEDULE_MIN_INTERVAL_S), checked for the repository's. */
  schedules: { minIntervalSeconds: number };
}

export interface DeployInput {
  tenant: Tenant;
  functionName: string;
  files: SourceFile[];
  /** An explicit entry wins over the repository config's. */
  entry?: string | undefined;
  message?: string | null | undefined;
  /** `api` or `git`. */
  source: string;
  /** The git branch and commit the sources come from. */
  branch?: string | undefined;
  commit?: string | undefined;
  /** Progress lines for a person watching (a git push shows them as `remote:` lines). */
  onProgress?: ((line: string) => void) | undefined;
}

/** A built version, stored and recorded but not yet live. */
export interface PreparedDeployment {
  fn: FunctionRow;
  deployment: Deployment;
  config: RepoConfig | undefined;
}

/**
 * Validates the sources' repository config, builds them, stores the artifact and records a
 * ready deployment. Nothing is live yet: a failure anywhere leaves the serving version as it
 * was, and so does success until {@link activatePrepared}.
 */
export async function prepareDeployment(deps: DeployDeps, input: DeployInput): Promise<PreparedDeployment> {
  const say = input.onProgress ?? (() => undefined);
  const config = readRepoConfig(input.files);
  if (config) say(`read ${config.file}`);
  if (config?.schedules) checkScheduleIntervals(config.schedules, deps.schedules.minIntervalSeconds, config.file);
  // The runtime the version is built for: the repository config's, else the function's setting.
  const existing = await findFunction(deps.db, input.tenant.id, input.functionName);
  if (config && config.env.length > 0) {
    const secrets = existing ? await listFunctionSecrets(deps.db, input.tenant.id, existing.id) : [];
    checkRequiredEnv(config, [...Object.keys(existing?.env ?? {}), ...secrets.map((s) => s.name)]);
  }
  const runtime = config?.settings.runtime ?? existing?.runtime ?? "workerd";
  const built = await build(deps, input, runtime, config?.entry, say);
  say(`built ${built.entry}: ${built.bytes.byteLength} bytes, sha256 ${built.hash.slice(0, 12)}`);
  const fn = await saveFunction(deps.db, input.tenant, input.functionName, {});
  await putArtifact(deps.db, built.hash, built.bytes);
  const deployment = await createDeployment(deps.db, {
    tenantId: input.tenant.id,
    functionId: fn.id,
    artifactHash: built.hash,
    entry: built.entry,
    message: input.message ?? null,
    source: input.source,
    branch: input.branch ?? null,
    commit: input.commit ?? null,
  });
  return { fn, deployment, config };
}

/**
 * Makes a prepared version the function's live one: the repository config's settings and
 * schedules first (absent ones keep their value), then the pointer, then this gateway's cache.
 */
export async function activatePrepared(deps: DeployDeps, tenant: Tenant, prepared: PreparedDeployment): Promise<FunctionRow> {
  if (prepared.config && Object.keys(prepared.config.settings).length > 0) {
    await saveFunction(deps.db, tenant, prepared.fn.name, prepared.config.settings);
  }
  if (prepared.config?.schedules) {
    // As PUT …/schedules does: unchanged timings keep their next run, new ones start from now.
    const now = new Date();
    await replaceSchedules(
      deps.db,
      tenant.id,
      prepared.fn.id,
      scheduleInputs(prepared.config.schedules, now),
    );
  }
  const fn = await activateDeployment(deps.db, tenant.id, prepared.fn.id, prepared.deployment.id);
  deps.resolver.invalidate(tenant.name, fn.name);
  return fn;
}

/** Bundles an isolate function with esbuild, or packs a container function's directory as it is. */
function build(deps: DeployDeps, input: DeployInput, runtime: string, configEntry: string | undefined, say: (line: string) => void): Promise<BuiltArtifact> {
  const entry = input.entry ?? configEntry;
  if (runtime === "container") {
    say(`packing ${input.files.length} file${input.files.length === 1 ? "" : "s"} for a container`);
    return Promise.resolve().then(() => packContainer({ files: input.files, entry, maxBundleBytes: deps.limits.maxBundleBytes }));
  }
  say(`bundling ${input.files.length} file${input.files.length === 1 ? "" : "s"}`);
  return bundleFunction({
    files: input.files,
    entry,
    maxBundleBytes: deps.limits.maxBundleBytes,
    cacheDir: deps.limits.buildCacheDir,
    onProgress: say,
  });
}
