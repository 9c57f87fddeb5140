import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { defaultBranch } from "./branch-label.js";
import { gitEnv, runGit } from "./git-command.js";

/** Where a function's repository is: by ids, never by names, so renames and reuse cannot mix them. */
export function repositoryPath(root: string, tenantId: string, functionId: string): string {
  return join(root, tenantId, `${functionId}.git`);
}

/**
 * Creates the function's bare repository on first use, its HEAD on the default branch. Its own
 * config file holds only what `git init` writes: the settings that matter (hooks, limits) are
 * the platform's, given to every git process by {@link platformGitConfig}, and a push cannot
 * change a repository's config.
 */
export async function ensureRepository(path: string): Promise<void> {
  if (existsSync(join(path, "HEAD"))) return;
  await mkdir(path, { recursive: true });
  await runGit(["init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`, path], gitEnv());
}

/**
 * Settings for every git process serving a push or fetch, as GIT_CONFIG_COUNT/KEY/VALUE
 * variables (git ≥ 2.31), which win over any config file: the platform's hooks and no other,
 * push options, objects checked as they arrive (fsck refuses `..` and `.git` tree entries,
 * among others), the pack size cap enforced by git itself too, and the default branch kept.
 */
export function platformGitConfig(options: { hooksDir: string; maxPackBytes: number }): Record<string, string> {
  const settings: Array<[string, string]> = [
    ["core.hooksPath", options.hooksDir],
    ["receive.advertisePushOptions", "true"],
    ["receive.fsckObjects", "true"],
    ["receive.maxInputSize", String(options.maxPackBytes)],
    ["receive.denyDeleteCurrent", "true"],
    ["http.receivepack", "true"],
    ["http.uploadpack", "true"],
    ["http.getanyfile", "false"],
    ["uploadpack.allowAnySHA1InWant", "false"],
  ];
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(settings.length) };
  settings.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}
