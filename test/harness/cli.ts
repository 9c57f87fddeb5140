import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The built `isle` as npm links it for a user of the checkout (scripts/setup.sh makes sure). */
export const isleBin = resolve(import.meta.dirname, "../../node_modules/.bin/isle");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `isle` binary as a user would — its own process, a home and config directory
 * of its own, no ISLE_* variables from the test's environment unless given — and collects
 * what it printed.
 */
export class CliUser {
  readonly home = mkdtempSync(join(tmpdir(), "isle-cli-home-"));
  readonly cwd: string;

  constructor() {
    if (!existsSync(isleBin)) throw new Error(`${isleBin} is missing: run bash scripts/setup.sh`);
    this.cwd = this.home;
  }

  /** Removes the user's home, profiles and function directories included. */
  remove(): void {
    rmSync(this.home, { recursive: true, force: true });
  }

  get configFile(): string {
    return join(this.home, ".config", "isle", "config.json");
  }

  private env(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: this.home, ...extra };
    return env;
  }

  /** Starts `isle args…` and leaves it running (logs --follow). */
  spawn(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): ChildProcess {
    return spawn(isleBin, args, { cwd: options.cwd ?? this.cwd, env: this.env(options.env ?? {}), stdio: ["pipe", "pipe", "pipe"] });
  }

  /** Runs `isle args…` to its end, with `input` on stdin (closed either way, as in a pipe). */
  run(args: string[], options: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
    const child = this.spawn(args, options);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => (stdout += chunk));
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    child.stdin?.end(options.input ?? "");
    return new Promise((done, fail) => {
      child.on("error", fail);
      child.on("close", (code) => done({ code, stdout, stderr }));
    });
  }
}
