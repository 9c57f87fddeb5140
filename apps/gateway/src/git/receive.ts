import { isAbsolute, join, relative, resolve } from "node:path";
import { deletePreview, findPreviewByLabel, upsertPreview, type FunctionRow, type Tenant } from "@isle/db";
import { IsleError } from "@isle/errors";
import { activatePrepared, prepareDeployment, type DeployDeps, type PreparedDeployment } from "../control/deploy.js";
import { branchLabel, defaultBranch } from "./branch-label.js";
import { readCommitSources } from "./commit-sources.js";
import { gitEnv, runGit } from "./git-command.js";

/** One push in progress: who, to what, and the versions its pre-receive built. */
export interface PushSession {
  tenant: Tenant;
  fn: FunctionRow;
  repoDir: string;
  /** Where the pusher reached the gateway (`https://isle.example.com`), for the URLs printed. */
  origin: string;
  /** Built in pre-receive, by ref; made live in post-receive once git has moved the ref. */
  built: Map<string, { commit: string; prepared: PreparedDeployment }>;
}

export interface ReceiveDeps extends DeployDeps {
  /** ISLE_DOMAIN, for preview hosts. */
  domain: string | undefined;
  /** The most a commit's files may weigh (the upload cap). */
  maxSourceBytes: number;
}

/** What a hook hands over: git's ref update lines, push options and the quarantine. */
export interface HookInput {
  updates: string;
  pushOptions: string[];
  quarantine: string | null;
}

const zero = /^0+$/;
const maxFiles = 1000;

interface RefUpdate {
  oldId: string;
  newId: string;
  ref: string;
}

function parseUpdates(text: string): RefUpdate[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [oldId = "", newId = "", ref = ""] = line.split(" ");
      return { oldId, newId, ref };
    });
}

/**
 * pre-receive: builds every pushed branch from the quarantined objects and records the
 * versions, live nowhere yet. Any failure refuses the whole push: git then moves no ref and
 * discards the objects, and the serving versions stay as they were. Returns the hook's exit code.
 */
export async function preReceive(deps: ReceiveDeps, session: PushSession, input: HookInput, say: (line: string) => void): Promise<number> {
  const objectEnv = quarantineEnv(session.repoDir, input.quarantine);
  const message = pushOption(input.pushOptions, "message");
  try {
    for (const update of parseUpdates(input.updates)) {
      if (update.ref.startsWith("refs/tags/")) continue;
      if (!update.ref.startsWith("refs/heads/")) throw new IsleError("validation_failed", `${update.ref}: only branches and tags can be pushed`);
      const branch = update.ref.slice("refs/heads/".length);
      if (zero.test(update.newId)) {
        if (branch === defaultBranch) throw new IsleError("validation_failed", `${branch} is the default branch and cannot be deleted`);
        continue;
      }
      const preview = branch !== defaultBranch;
      const label = branchLabel(branch);
      if (preview) {
        const holder = await findPreviewByLabel(deps.db, session.tenant.id, session.fn.id, label);
        if (holder && holder.branch !== branch) {
          throw new IsleError("conflict", `branch ${JSON.stringify(branch)} would take the preview ${label} of branch ${JSON.stringify(holder.branch)}; rename one of them`);
        }
      }
      say(`isle: building ${update.newId.slice(0, 12)} (${branch}) for ${preview ? `the preview ${label}` : "production"}`);
      const files = await readCommitSources(update.newId, objectEnv, { maxFiles, maxBytes: deps.maxSourceBytes });
      const subject = (await runGit(["log", "-1", "--format=%s", update.newId], objectEnv)).toString().trim();
      const prepared = await prepareDeployment(deps, {
        tenant: session.tenant,
        functionName: session.fn.name,
        files,
        message: (message ?? subject).slice(0, 1000) || null,
        source: "git",
        branch,
        commit: update.newId,
        onProgress: (line) => say(`isle: ${line}`),
      });
      say(`isle: version ${prepared.deployment.version} (${prepared.deployment.id}) is ready`);
      session.built.set(update.ref, { commit: update.newId, prepared });
    }
    return 0;
  } catch (err) {
    if (!(err instanceof IsleError)) throw err;
    say(`isle: ${err.code === "build_failed" ? "build failed" : "refused"}: ${err.message}`);
    const diagnostics = (err.details?.["diagnostics"] as Array<{ file?: string; line?: number; column?: number; message: string }> | undefined) ?? [];
    for (const d of diagnostics.slice(1, 10)) say(`isle:   ${d.file ? `${d.file}:${d.line}:${d.column}: ` : ""}${d.message}`);
    say("isle: the push is refused; what was live stays live");
    return 1;
  }
}

/**
 * post-receive, once git has moved the refs: the default branch's version goes live, other
 * branches' versions become their previews, deleted branches lose theirs. Ends with the URLs.
 */
export async function postReceive(deps: ReceiveDeps, session: PushSession, input: HookInput, say: (line: string) => void): Promise<number> {
  const { tenant, fn } = session;
  for (const update of parseUpdates(input.updates)) {
    if (!update.ref.startsWith("refs/heads/")) continue;
    const branch = update.ref.slice("refs/heads/".length);
    const label = branchLabel(branch);
    if (zero.test(update.newId)) {
      if (await deletePreview(deps.db, tenant.id, fn.id, branch)) say(`isle: the preview ${label} is removed`);
      deps.resolver.invalidate(tenant.name, fn.name);
      continue;
    }
    const built = session.built.get(update.ref);
    if (!built || built.commit !== update.newId) continue;
    const { deployment } = built.prepared;
    if (branch === defaultBranch) {
      await activatePrepared(deps, tenant, built.prepared);
      say(`isle: version ${deployment.version} is live at ${session.origin}/fn/${tenant.name}/${fn.name}/`);
      if (deps.domain) say(`isle:   and at ${hostUrl(session.origin, `${fn.name}--${tenant.name}.${deps.domain}`)}`);
    } else {
      await upsertPreview(deps.db, { tenantId: tenant.id, functionId: fn.id, branch, label, deploymentId: deployment.id });
      deps.resolver.invalidate(tenant.name, fn.name);
      say(`isle: preview of ${branch} (version ${deployment.version}) at ${session.origin}/fn/${tenant.name}/${fn.name}@${label}/`);
      if (deps.domain) say(`isle:   and at ${hostUrl(session.origin, `${label}--${fn.name}--${tenant.name}.${deps.domain}`)}`);
    }
  }
  return 0;
}

/** A function host's URL with the scheme and port the pusher used. */
function hostUrl(origin: string, host: string): string {
  const url = new URL(origin);
  return `${url.protocol}//${host}${url.port ? `:${url.port}` : ""}/`;
}

function pushOption(options: string[], name: string): string | undefined {
  const prefix = `${name}=`;
  const found = options.filter((o) => o.startsWith(prefix)).at(-1);
  return found?.slice(prefix.length);
}

/**
 * The environment that reads a push's objects before git accepts them: the quarantine
 * directory git made inside the repository's objects (and nowhere else), then the
 * repository's own objects.
 */
function quarantineEnv(repoDir: string, quarantine: string | null): NodeJS.ProcessEnv {
  const objects = join(repoDir, "objects");
  if (quarantine === null) return gitEnv({ GIT_DIR: repoDir });
  const inside = relative(objects, resolve(quarantine));
  if (!isAbsolute(quarantine) || inside === "" || inside.startsWith("..") || isAbsolute(inside)) {
    throw new Error(`the quarantine ${quarantine} is not inside ${objects}`);
  }
  return gitEnv({ GIT_DIR: repoDir, GIT_OBJECT_DIRECTORY: resolve(quarantine), GIT_ALTERNATE_OBJECT_DIRECTORIES: objects });
}
