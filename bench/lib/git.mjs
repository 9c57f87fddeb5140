// Pushing to Isle with the real git client, for the benchmarks that time a push: a scratch
// repository with an environment that reads no user or system git configuration (so the host's
// settings cannot change what is measured) and never prompts.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

/** A repository at `dir`/repo with `main` checked out; commit() and push() run git there. */
export function gitRepo(dir) {
  const repo = join(dir, "repo");
  mkdirSync(join(dir, "home"), { recursive: true });
  const env = {
    PATH: process.env.PATH,
    HOME: join(dir, "home"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "bench",
    GIT_AUTHOR_EMAIL: "bench@example.com",
    GIT_COMMITTER_NAME: "bench",
    GIT_COMMITTER_EMAIL: "bench@example.com",
  };
  const git = (...args) => {
    const run = spawnSync("git", args, { cwd: repo, env, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr}`);
  };
  spawnSync("git", ["init", "-q", "-b", "main", repo], { env });
  return {
    /** Writes `files` (path → text) and commits them all. */
    commit(files, message) {
      for (const [path, text] of Object.entries(files)) writeFileSync(join(repo, path), text);
      git("add", "-A");
      git("commit", "-qm", message);
    },
    /**
     * Starts `git push -q <remote> main` now; the promise settles when it exits, with its
     * duration from this call (ms) — it rejects when the push fails.
     */
    push(remote) {
      const started = performance.now();
      const push = spawn("git", ["push", "-q", remote, "main"], { cwd: repo, env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      push.stderr.on("data", (d) => (stderr += d));
      const exited = new Promise((done, fail) =>
        push.on("exit", (code) => (code === 0 ? done(performance.now() - started) : fail(new Error(`git push ${remote.replace(/\/\/[^@]*@/, "//…@")} failed: ${stderr}`)))),
      );
      // Marked handled: the caller awaits it only after polling for the new version, and an
      // unhandled rejection meanwhile would end the process before its finally stops Isle.
      exited.catch(() => undefined);
      return exited;
    },
  };
}

/** The URL `git push` takes for `tenant`/`fn` on `isle`, with a deploy key in it. */
export const gitRemote = (isle, key, tenant, fn) => `http://git:${key}@${new URL(isle.baseUrl).host}/git/${tenant}/${fn}.git`;
