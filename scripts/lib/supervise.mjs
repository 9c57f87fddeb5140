// Runs Isle's processes as one unit for a single machine: starts them, restarts
// one that dies (as systemd would on a VM), and stops them all together.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

/** setpriv makes the kernel signal a child when this process dies, even by SIGKILL. */
const setpriv = existsSync("/usr/bin/setpriv") ? "/usr/bin/setpriv" : undefined;

export class Supervisor {
  #children = new Map();
  #stopping = false;

  constructor(log) {
    this.log = log;
  }

  /** Starts `node script` under `name`, restarting it with backoff when it exits. */
  start(name, script, env) {
    const child = { name, script, env, process: undefined, backoffMs: 250, startedAt: 0 };
    this.#children.set(name, child);
    this.#spawn(child);
  }

  pid(name) {
    return this.#children.get(name)?.process?.pid;
  }

  #spawn(child) {
    // ISLE_NODE_ARGS passes flags to every part, e.g. --cpu-prof (which NODE_OPTIONS refuses).
    const nodeArgs = (process.env.ISLE_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const argv = [process.execPath, ...nodeArgs, child.script];
    const [cmd, ...args] = setpriv ? [setpriv, "--pdeathsig", "SIGTERM", "--", ...argv] : argv;
    const proc = spawn(cmd, args, { env: { ...process.env, ...child.env }, stdio: ["ignore", "pipe", "pipe"] });
    child.process = proc;
    child.startedAt = Date.now();
    const prefix = (line) => (line.trim() ? `${child.name.padEnd(8)}| ${line}` : "");
    for (const stream of [proc.stdout, proc.stderr]) {
      let rest = "";
      stream.setEncoding("utf8");
      stream.on("data", (text) => {
        const lines = (rest + text).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) this.log(prefix(line));
      });
    }
    proc.on("exit", (code, signal) => {
      if (this.#stopping) return;
      // A child that stayed up a while earns a fast restart again.
      if (Date.now() - child.startedAt > 10_000) child.backoffMs = 250;
      this.log(`${child.name.padEnd(8)}| exited (${signal ?? code}); restarting in ${child.backoffMs} ms`);
      setTimeout(() => !this.#stopping && this.#spawn(child), child.backoffMs);
      child.backoffMs = Math.min(child.backoffMs * 2, 5000);
    });
  }

  /** SIGTERM to all, SIGKILL to what is still there after the grace period. */
  async stop(graceMs = 5000) {
    this.#stopping = true;
    const running = [...this.#children.values()].map((c) => c.process).filter((p) => p && p.exitCode === null && p.signalCode === null);
    const exited = running.map((p) => new Promise((done) => p.once("exit", done)));
    for (const p of running) p.kill("SIGTERM");
    const timer = setTimeout(() => running.forEach((p) => p.kill("SIGKILL")), graceMs);
    await Promise.all(exited);
    clearTimeout(timer);
  }
}
