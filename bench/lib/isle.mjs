// Starts Isle the way `npm start` does (scripts/start.mjs: gateway, sidecar,
// agent and its workerd pool) on free ports and a scratch data directory.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A loopback port that was free a moment ago. */
export const freePort = () =>
  new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });

/**
 * Runs Isle under `dir` until stop(); `env` is added to every part's
 * environment (e.g. ISLE_WORKERD_PROCESSES for the agent). `onLine`, when
 * given, sees every line the parts write after the start (`agent   | {…}`).
 */
export async function startIsle(dir, env = {}, { onLine } = {}) {
  const [port, controlPort, sidecarPort, agentMetricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dataDir = join(dir, "isle");
  const proc = spawn(process.execPath, [join(root, "scripts/start.mjs")], {
    env: {
      ...process.env,
      ISLE_SKIP_SETUP: "1",
      ISLE_DATA_DIR: dataDir,
      ISLE_PORT: String(port),
      ISLE_CONTROL_PORT: String(controlPort),
      ISLE_SIDECAR_PORT: String(sidecarPort),
      ISLE_LOG_LEVEL: "warn",
      // Not the default 9464: two benchmarks' Isles on one machine would both want it.
      ISLE_AGENT_METRICS_PORT: String(agentMetricsPort),
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((done, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`Isle did not start:\n${out}`)), 90_000);
    proc.stdout.on("data", (d) => {
      out += d;
      if (out.includes("Isle is running")) {
        clearTimeout(timer);
        done();
      }
    });
    proc.on("exit", () => fail(new Error(`Isle exited:\n${out}`)));
  });
  if (onLine) {
    let rest = "";
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (text) => {
      const lines = (rest + text).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    });
  }
  proc.stdout.resume();
  const stop = () => new Promise((done) => (proc.once("exit", done), proc.kill("SIGINT")));
  const adminToken = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  return { baseUrl: `http://127.0.0.1:${port}`, dataDir, adminToken, stop };
}
