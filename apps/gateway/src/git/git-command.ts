import { spawn } from "node:child_process";

/** The only variables of the gateway's own environment that git and the hooks see (handed on, not read as settings). */
const passedThrough = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ"];

/**
 * The environment every git process the gateway starts runs with: a few variables of the
 * gateway's (never its database URL, tokens or keys, nor its GIT_* settings), no system or user
 * config (only the platform's settings, given per command), no prompts.
 */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const name of passedThrough) if (process.env[name] !== undefined) base[name] = process.env[name];
  return { ...base, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_TERMINAL_PROMPT: "0", ...extra };
}

/** Runs git to completion and returns its stdout; a non-zero exit throws with its stderr. */
export function runGit(args: string[], env: NodeJS.ProcessEnv, input?: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`git ${args[0]} exited with ${code}: ${Buffer.concat(err).toString().trim()}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
