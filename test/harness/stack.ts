import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { seedPgliteDataDir } from "@isle/db/testing";
import pg from "pg";
import { createScratchDatabase } from "./database.js";
import { OperatorClient } from "./operator-client.js";
import { freePort } from "./ports.js";
import { pidsMatching, waitUntil } from "./processes.js";

const root = resolve(import.meta.dirname, "../..");
export type Part = "gateway" | "agent" | "sidecar";
const scripts: Record<Part, string> = {
  gateway: join(root, "apps/gateway/dist/main.js"),
  agent: join(root, "apps/agent/dist/main.js"),
  sidecar: join(root, "apps/sidecar/dist/main.js"),
};

export interface StackOptions {
  /** Postgres server to create a scratch database on; PGlite when absent. */
  databaseUrl?: string | undefined;
  workerdProcesses?: number;
  /** ISLE_DOMAIN of gateway and agent: `<function>--<tenant>.<domain>` hosts. */
  domain?: string;
  /** ISLE_EGRESS_ALLOW of the agent: private destinations functions may reach. */
  egressAllow?: string;
  /** Extra environment for one part (rate limits, REDIS_URL, …); wins over the harness's own. */
  env?: Partial<Record<Part, Record<string, string>>>;
  /** Extra environment for every part (OTEL_* variables, say). */
  commonEnv?: Record<string, string>;
}

/** Where the certs CLI is, built (the e2e tests run the built parts). */
const certsCli = resolve(import.meta.dirname, "../../apps/gateway/dist/certs-cli.js");

/**
 * Issues a sidecar's or an agent's certificate from the platform CA in
 * `dataDir` (created there if missing) the way an operator does, and returns
 * the part's TLS settings.
 */
export function issuePartCertificate(dataDir: string, role: "sidecar" | "agent", name: string, hosts: string[] = []): Record<string, string> {
  const out = join(dataDir, "pki", role);
  const hostArgs = hosts.flatMap((host) => ["--host", host]);
  execFileSync(process.execPath, [certsCli, "issue", "--role", role, "--name", name, ...hostArgs, "--out", out, "--data-dir", dataDir]);
  return { ISLE_TLS_CA: join(out, "ca.crt"), ISLE_TLS_CERT: join(out, `${role}-${name}.crt`), ISLE_TLS_KEY: join(out, `${role}-${name}.key`) };
}

/**
 * The whole of Isle as real processes — gateway, sidecar, agent with its
 * workerd pool — on free loopback ports and a temporary data directory.
 */
export class Stack {
  readonly logs: Record<Part, string[]> = { gateway: [], agent: [], sidecar: [] };
  private readonly procs = new Map<Part, ChildProcess>();
  /** Each part's environment (ports, directories), as it was started with. */
  readonly envs = new Map<Part, NodeJS.ProcessEnv>();
  adminToken = "";
  /** The agent's Prometheus listener (loopback, a free port). */
  agentMetricsUrl = "";

  private constructor(
    readonly dataDir: string,
    readonly baseUrl: string,
    private readonly scratch: { url: string; drop(): Promise<void> } | undefined,
  ) {}

  static async start(options: StackOptions = {}): Promise<Stack> {
    const dataDir = mkdtempSync(join(tmpdir(), "isle-e2e-"));
    const [port, controlPort, sidecarPort, agentMetricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const scratch = options.databaseUrl ? await createScratchDatabase(options.databaseUrl) : undefined;
    // On PGlite, a copy of the run's migrated database: the gateway opens it as it would after a
    // restart instead of creating a cluster (seconds of CPU). Fresh data directories are the
    // subject of start.test.ts.
    if (!scratch) await seedPgliteDataDir(dataDir);
    const stack = new Stack(dataDir, `http://127.0.0.1:${port}`, scratch);
    stack.agentMetricsUrl = `http://127.0.0.1:${agentMetricsPort}/metrics`;
    const agentSocket = join(dataDir, "run", "agent.sock");
    const common = {
      ISLE_DATA_DIR: dataDir,
      ISLE_AGENT_SOCKET: agentSocket,
      ISLE_LOG_LEVEL: "info",
      DATABASE_URL: scratch?.url ?? "",
      ...(options.domain ? { ISLE_DOMAIN: options.domain } : {}),
    };
    stack.envs.set("gateway", { ...common, ISLE_PORT: String(port), ISLE_CONTROL_PORT: String(controlPort), ...options.env?.gateway });
    // The agent's certificate names it: the control plane refuses it under any other id.
    const agentId = options.env?.agent?.ISLE_AGENT_ID ?? "e2e";
    stack.envs.set("agent", {
      ...common,
      ISLE_AGENT_ID: agentId,
      ...issuePartCertificate(dataDir, "agent", agentId),
      ISLE_CONTROL_ADDRESS: `127.0.0.1:${controlPort}`,
      ISLE_AGENT_ADVERTISE: `127.0.0.1:${sidecarPort}`,
      ISLE_AGENT_WORK_DIR: join(dataDir, "agent"),
      ISLE_WORKERD_PROCESSES: String(options.workerdProcesses ?? 2),
      // Small enough that a memory-hungry test function reaches it quickly.
      ISLE_WORKERD_MEMORY_MB: "256",
      ISLE_GATEWAY_URL: stack.baseUrl,
      ISLE_EGRESS_ALLOW: options.egressAllow ?? "",
      ISLE_AGENT_METRICS_PORT: String(agentMetricsPort),
      ...options.env?.agent,
    });
    stack.envs.set("sidecar", {
      ...common,
      ISLE_SIDECAR_PORT: String(sidecarPort),
      ...issuePartCertificate(dataDir, "sidecar", "e2e", ["127.0.0.1"]),
      ...options.env?.sidecar,
    });
    for (const part of ["gateway", "sidecar", "agent"] as const) {
      stack.envs.set(part, { ...stack.envs.get(part), ...options.commonEnv, ...options.env?.[part] });
    }
    try {
      for (const part of ["gateway", "sidecar", "agent"] as const) stack.spawn(part);
      await stack.waitReady();
      stack.adminToken = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  pid(part: Part): number {
    const pid = this.procs.get(part)?.pid;
    if (pid === undefined) throw new Error(`${part} is not running`);
    return pid;
  }

  /** workerd processes started for this stack (their config lives in its data directory). */
  workerdPids(): number[] {
    return pidsMatching(`workerd.*${this.dataDir}`);
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitUntil(
      () => fetch(`${this.baseUrl}/readyz`).then((r) => r.ok, () => false),
      timeoutMs,
      `readiness of ${this.baseUrl}\n${this.tail()}`,
    );
  }

  /** Kills one part (SIGKILL unless told otherwise) and waits for it to exit. */
  async kill(part: Part, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.procs.get(part);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, "exit");
    proc.kill(signal);
    await exited;
  }

  restart(part: Part): void {
    this.spawn(part);
  }

  async stop(): Promise<void> {
    for (const part of ["gateway", "sidecar", "agent"] as const) {
      await this.kill(part, "SIGTERM").catch(() => undefined);
    }
    // The agent kills its workerd pool on SIGTERM; anything left is a leak the tests report.
    await this.scratch?.drop().catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Stops one part the way an operator would (SIGTERM) and waits for it to exit. */
  async stopPart(part: Part): Promise<void> {
    await this.kill(part, "SIGTERM");
  }

  /**
   * Runs SQL against the stack's database. With embedded PGlite the gateway
   * owns the data directory: stop it first (stopPart("gateway")).
   */
  async query(text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    if (this.scratch) {
      const client = new pg.Client({ connectionString: this.scratch.url });
      await client.connect();
      try {
        return (await client.query(text, params)).rows as Record<string, unknown>[];
      } finally {
        await client.end();
      }
    }
    const db = new PGlite(join(this.dataDir, "pglite"));
    try {
      return (await db.query<Record<string, unknown>>(text, params)).rows;
    } finally {
      await db.close();
    }
  }

  /** The last lines each part logged, for failure messages. */
  tail(lines = 15): string {
    return (Object.keys(this.logs) as Part[]).map((p) => `--- ${p}\n${this.logs[p].slice(-lines).join("\n")}`).join("\n");
  }

  /** The gateway's management API with the operator token. */
  get api(): OperatorClient {
    return new OperatorClient(this.baseUrl, () => this.adminToken);
  }

  async operator(path: string, init: RequestInit = {}): Promise<Response> {
    return this.api.operator(path, init);
  }

  async createTenant(name: string): Promise<void> {
    return this.api.createTenant(name);
  }

  /** Deploys files (path → source) as a function; returns the raw response. */
  async deploy(tenant: string, fn: string, files: Record<string, string>): Promise<Response> {
    return this.api.deploy(tenant, fn, files);
  }

  /** Sets function settings (PUT /v1/tenants/:tenant/functions/:function). */
  async configure(tenant: string, fn: string, settings: Record<string, unknown>): Promise<void> {
    return this.api.configure(tenant, fn, settings);
  }

  /** Deploys a fixture and makes it invokable without a key. */
  async deployPublic(tenant: string, fn: string, files: Record<string, string>): Promise<void> {
    return this.api.deployPublic(tenant, fn, files);
  }

  private spawn(part: Part): void {
    const child = spawn("/usr/bin/setpriv", ["--pdeathsig", "SIGKILL", "--", process.execPath, scripts[part]], {
      env: { ...process.env, ...this.envs.get(part) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = this.logs[part];
    const collect = (chunk: Buffer) => {
      log.push(...String(chunk).split("\n").filter(Boolean));
      if (log.length > 500) log.splice(0, log.length - 500);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    this.procs.set(part, child);
  }
}
