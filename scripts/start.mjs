#!/usr/bin/env node
// `npm start`: sets up and runs Isle on one machine — gateway, sidecar, agent
// and its workerd pool — on embedded defaults, then deploys a demo function
// and prints how to call it. Ctrl-C stops every process it started.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { Supervisor } from "./lib/supervise.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const env = process.env;
const dataDir = resolve(env.ISLE_DATA_DIR ?? join(root, ".isle"));
const host = env.ISLE_HOST ?? "127.0.0.1";
const port = env.ISLE_PORT ?? "8080";
const controlPort = env.ISLE_CONTROL_PORT ?? "7070";
const sidecarPort = env.ISLE_SIDECAR_PORT ?? "7443";
const agentSocket = join(dataDir, "run", "agent.sock");
const log = (line) => line && process.stdout.write(`${line}\n`);

function setUp() {
  if (env.ISLE_SKIP_SETUP === "1") return;
  log("isle: setting up (dependencies, build)…");
  execFileSync("bash", [join(root, "scripts/setup.sh")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
}

/**
 * Root filesystems of container functions (python3, node, exec), built once per machine from
 * Debian packages into the user's cache (every local Isle, `isle dev` included, shares them) and
 * rebuilt when their inputs change. Only where the agent can run
 * containers (root, runc); a failed build (no network) leaves container functions off, not Isle.
 */
function rootfsDir() {
  const dir = resolve(env.ISLE_ROOTFS_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "isle/rootfs"));
  if (env.ISLE_CONTAINERS === "off" || process.getuid?.() !== 0) return dir;
  try {
    execFileSync("runc", ["--version"], { stdio: "ignore" });
  } catch {
    return dir;
  }
  try {
    execFileSync(join(root, "infra/rootfs/ensure.sh"), [dir], { stdio: ["ignore", "ignore", "inherit"] });
  } catch {
    log("isle: building the container root filesystems failed; container functions stay off");
  }
  return dir;
}

async function waitFor(url, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs} ms`);
}

/** The demo tenant's key: made once, kept in the data directory (mode 0600) and printed at every start. */
async function demoKey(base, token) {
  const file = join(dataDir, "demo-key");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const res = await fetch(`${base}/v1/tenants/demo/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "demo", scopes: ["invoke", "deploy", "read"] }),
  });
  if (res.status !== 201) throw new Error(`creating the demo key: ${res.status} ${await res.text()}`);
  const { key } = await res.json();
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

async function deployDemo(base, token) {
  const auth = { authorization: `Bearer ${token}` };
  const tenant = await fetch(`${base}/v1/tenants`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ name: "demo" }),
  });
  if (tenant.status !== 201 && tenant.status !== 409) throw new Error(`creating the demo tenant: ${tenant.status} ${await tenant.text()}`);
  const existing = await fetch(`${base}/fn/demo/hello`);
  if (existing.ok) return;
  const form = new FormData();
  form.append("file", new Blob([readFileSync(join(root, "examples/hello/index.ts"))]), "index.ts");
  form.append("message", "demo function deployed by npm start");
  const deploy = await fetch(`${base}/v1/tenants/demo/functions/hello/deployments`, { method: "POST", headers: auth, body: form });
  if (deploy.status !== 201) throw new Error(`deploying the demo function: ${deploy.status} ${await deploy.text()}`);
  const visibility = await fetch(`${base}/v1/tenants/demo/functions/hello`, {
    method: "PUT",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ visibility: "public" }),
  });
  if (visibility.status !== 200) throw new Error(`making the demo function public: ${visibility.status}`);
}

/**
 * Issues this node's sidecar or agent certificate from the platform CA in the
 * data directory (creating the CA on first start) and returns the part's TLS
 * settings. On a VM cluster the operator runs `isle-certs` on a gateway host
 * instead and copies the files to the node.
 */
function partTls(role, name, hosts = []) {
  const out = join(dataDir, "pki", role);
  const certs = join(root, "apps/gateway/dist/certs-cli.js");
  const args = ["issue", "--role", role, "--name", name, ...hosts.flatMap((h) => ["--host", h]), "--out", out, "--data-dir", dataDir];
  execFileSync(process.execPath, [certs, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  return { ISLE_TLS_CA: join(out, "ca.crt"), ISLE_TLS_CERT: join(out, `${role}-${name}.crt`), ISLE_TLS_KEY: join(out, `${role}-${name}.key`) };
}

async function main() {
  setUp();
  mkdirSync(join(dataDir, "run"), { recursive: true });
  const common = { ISLE_DATA_DIR: dataDir, ISLE_AGENT_SOCKET: agentSocket };
  const supervisor = new Supervisor(log);
  let stopping = false;
  const stop = async (reason, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log(`isle: ${reason}, stopping…`);
    await supervisor.stop();
    log("isle: stopped");
    process.exit(exitCode);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  // The agent's certificate names it: the control plane refuses it under any other id.
  const agentId = env.ISLE_AGENT_ID ?? "local";
  const agentTls = partTls("agent", agentId);
  const sidecarTls = partTls("sidecar", "local", ["127.0.0.1", "localhost"]);
  supervisor.start("gateway", join(root, "apps/gateway/dist/main.js"), {
    ...common,
    ISLE_HOST: host,
    ISLE_PORT: port,
    ISLE_CONTROL_PORT: controlPort,
  });
  supervisor.start("agent", join(root, "apps/agent/dist/main.js"), {
    ...common,
    ISLE_CONTROL_ADDRESS: `127.0.0.1:${controlPort}`,
    ISLE_AGENT_ADVERTISE: `127.0.0.1:${sidecarPort}`,
    ISLE_AGENT_WORK_DIR: join(dataDir, "agent"),
    ISLE_AGENT_ID: agentId,
    ISLE_ROOTFS_DIR: rootfsDir(),
    ...agentTls,
    // Functions call functions through this gateway (ADR 0009).
    ISLE_GATEWAY_URL: env.ISLE_GATEWAY_URL ?? `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
  });
  supervisor.start("sidecar", join(root, "apps/sidecar/dist/main.js"), { ...common, ISLE_SIDECAR_PORT: sidecarPort, ...sidecarTls });

  const base = `http://${host}:${port}`;
  try {
    await waitFor(`${base}/readyz`, 60_000);
    const token = env.ISLE_ADMIN_TOKEN ?? readFileSync(join(dataDir, "admin-token"), "utf8").trim();
    await deployDemo(base, token);
    const key = await demoKey(base, token);
    log("");
    log(`Isle is running at ${base}`);
    log(`  operator token:  ${token}`);
    log(`  demo tenant key: ${key}  (tenant "demo": invoke, deploy, read)`);
    log(`  demo function:   curl '${base}/fn/demo/hello?name=isle'`);
    log(`  web console:     ${base}/console  (sign in with the key or the token)`);
    log(`  API reference:   ${base}/docs`);
    log(`  data directory:  ${dataDir}`);
    log("Press Ctrl-C to stop.");
    log("");
  } catch (err) {
    log(`isle: ${err instanceof Error ? err.message : String(err)}`);
    await stop("startup failed", 1);
  }
}

main();
