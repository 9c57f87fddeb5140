import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import { createScratchDatabase } from "./database.js";
import { NetworkLab } from "./netns.js";
import type { NamespacedProcess } from "./netns-process.js";
import { OperatorClient } from "./operator-client.js";
import { waitUntil } from "./processes.js";
import { issuePartCertificate } from "./stack.js";

const root = resolve(import.meta.dirname, "../..");
const scripts = {
  gateway: join(root, "apps/gateway/dist/main.js"),
  agent: join(root, "apps/agent/dist/main.js"),
  sidecar: join(root, "apps/sidecar/dist/main.js"),
};
/** Every host has its own port space: the parts listen on their production defaults. */
const ports = { http: 8080, control: 7070, sidecar: 7443, agentMetrics: 9464 };

export interface ClusterOptions {
  gateways: number;
  /** Agent nodes: a sidecar and an agent with its workerd pool, on a host of their own. */
  agents: number;
  /** Postgres server (reachable from this machine's loopback) to create the cluster's database on. */
  databaseUrl: string;
  /** workerd processes per agent (default 1: several nodes share this machine's cores). */
  workerdProcesses?: number;
  /** Extra environment for every gateway, sidecar or agent. */
  env?: Partial<Record<"gateway" | "sidecar" | "agent", Record<string, string>>>;
}

/** A gateway on host `gw<n>`: HTTP and control plane on its own address. */
export interface ClusterGateway {
  name: string;
  address: string;
  /** `http://<address>:8080`, reachable from the test process. */
  url: string;
  /** `<address>:7070`, what agents dial. */
  controlAddress: string;
  dataDir: string;
  process: NamespacedProcess;
  /** Its management API with the cluster's operator token. */
  api: OperatorClient;
}

/** An agent node on host `node<n>`: its sidecar listens on `<address>:7443`. */
export interface ClusterNode {
  name: string;
  address: string;
  /** The agent's Prometheus listener, reachable from the test process. */
  metricsUrl: string;
  sidecar: NamespacedProcess;
  agent: NamespacedProcess;
}

/** One agent as a gateway lists it (`GET /v1/agents`). */
export interface AgentView {
  id: string;
  address: string;
  healthy: boolean;
  draining: boolean;
  capacity: number;
  inFlight: number;
  workerdReady: number;
  loadedFunctions: number;
  lastSeenMsAgo: number;
}

/** One line of a part's JSON log. */
export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * Isle across several "machines" on one Linux box: gateways and agent nodes each in a network
 * namespace with its own address (NetworkLab), sharing one fresh Postgres database (dropped at
 * stop) and one platform CA, operator token and secrets key, as an operator would set them up.
 */
export class IsleCluster {
  readonly gateways: ClusterGateway[] = [];
  readonly nodes: ClusterNode[] = [];
  /** Where each process's log began at its last start: a restarted part appends to the same file. */
  private readonly logStarts = new Map<NamespacedProcess, number>();

  /** Use startIsleCluster(), which builds the network, database and processes around it. */
  constructor(
    readonly lab: NetworkLab,
    readonly adminToken: string,
    private readonly database: { url: string; drop(): Promise<void> },
  ) {}

  /** The cluster's database URL as the test process reaches it. */
  get databaseUrl(): string {
    return this.database.url;
  }

  gateway(n: number): ClusterGateway {
    const gateway = this.gateways[n - 1];
    if (!gateway) throw new Error(`no gateway ${n} (1-${this.gateways.length})`);
    return gateway;
  }

  node(n: number): ClusterNode {
    const node = this.nodes[n - 1];
    if (!node) throw new Error(`no agent node ${n} (1-${this.nodes.length})`);
    return node;
  }

  /** Until every running gateway answers /readyz (database up, an agent registered). */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    for (const gateway of this.gateways.filter((g) => g.process.running)) {
      await waitUntil(() => fetch(`${gateway.url}/readyz`).then((r) => r.ok, () => false), timeoutMs, `readiness of ${gateway.name}\n${this.tail()}`);
    }
  }

  /**
   * Until `gateway`'s membership holds at least (or at most) `n` healthy agents, by its
   * isle_gateway_healthy_agents gauge.
   */
  async waitForAgents(gateway: ClusterGateway, n: number, timeoutMs = 30_000, bound: "at least" | "at most" = "at least"): Promise<void> {
    await waitUntil(
      async () => {
        const healthy = await healthyAgents(gateway);
        return healthy !== undefined && (bound === "at least" ? healthy >= n : healthy <= n);
      },
      timeoutMs,
      `${bound} ${n} healthy agents on ${gateway.name}\n${this.tail()}`,
    );
  }

  /** kill -9 of a whole agent node (sidecar, agent, workerd), as if its machine died. */
  async killNode(n: number): Promise<void> {
    await this.lab.killAll(this.node(n).name);
  }

  /** Starts a killed node's sidecar and agent again. */
  restartNode(n: number): void {
    const node = this.node(n);
    this.restart(node.sidecar);
    this.restart(node.agent);
  }

  /** Kills a gateway (SIGKILL unless told otherwise) and waits for it to exit. */
  async killGateway(n: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.gateway(n).process.kill(signal);
  }

  restartGateway(n: number): void {
    this.restart(this.gateway(n).process);
  }

  /** The agents `gateway` lists, with their load (`GET /v1/agents`), by id. */
  async agents(gateway: ClusterGateway): Promise<Map<string, AgentView>> {
    const res = await gateway.api.operator("/v1/agents");
    if (!res.ok) throw new Error(`GET /v1/agents on ${gateway.name}: ${res.status} ${await res.text()}`);
    const { agents } = (await res.json()) as { agents: AgentView[] };
    return new Map(agents.map((a) => [a.id, a]));
  }

  /** Invocations node `n`'s agent has ended (refusals included), by its isle_agent_invocations_total. */
  async nodeInvocations(n: number): Promise<number> {
    const text = await (await fetch(this.node(n).metricsUrl)).text();
    let sum = 0;
    for (const match of text.matchAll(/^isle_agent_invocations_total(?:\{[^}]*\})?\s+(\S+)$/gm)) sum += Number(match[1]);
    return sum;
  }

  /** The JSON lines `proc` has logged since it last started. */
  logLines(proc: NamespacedProcess): LogLine[] {
    if (!existsSync(proc.logFile)) return [];
    const text = readFileSync(proc.logFile).subarray(this.logStarts.get(proc) ?? 0).toString("utf8");
    const lines: LogLine[] = [];
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // a line being written
      }
    }
    return lines;
  }

  /**
   * The running gateway that leads the scaler by its own log: its last word on it since it
   * started is "leading the scaler" (not "no longer leading the scaler"). Undefined when none does.
   */
  scalerLeader(): ClusterGateway | undefined {
    const leaders = this.gateways.filter((g) => {
      if (!g.process.running) return false;
      const said = this.logLines(g.process).filter((l) => l.msg === "leading the scaler" || l.msg === "no longer leading the scaler");
      return said.at(-1)?.msg === "leading the scaler";
    });
    if (leaders.length > 1) throw new Error(`${leaders.map((g) => g.name).join(" and ")} both say they lead the scaler\n${this.tail()}`);
    return leaders[0];
  }

  private restart(proc: NamespacedProcess): void {
    this.logStarts.set(proc, existsSync(proc.logFile) ? statSync(proc.logFile).size : 0);
    proc.start();
  }

  /** SQL on the cluster's database, from the test process. */
  async query(text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ connectionString: this.database.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  /** The last lines of every part's log, for failure messages. */
  tail(lines = 15): string {
    return this.lab.tail(lines);
  }

  /** Kills everything (no process outlives it), removes the network, drops the database. */
  async stop(): Promise<void> {
    await this.lab.destroy();
    await this.database.drop().catch(() => undefined);
  }
}

/** The healthy agents a gateway's /metrics reports; undefined when it does not answer. */
async function healthyAgents(gateway: ClusterGateway): Promise<number | undefined> {
  const res = await gateway.api.operator("/metrics").catch(() => undefined);
  if (!res?.ok) return undefined;
  const value = /^isle_gateway_healthy_agents\s+(\d+)/m.exec(await res.text())?.[1];
  return value === undefined ? undefined : Number(value);
}

/** What every agent dials: the control plane of every gateway (ISLE_CONTROL_ADDRESS takes a list). */
function controlAddresses(gateways: readonly ClusterGateway[]): string {
  return gateways.map((g) => g.controlAddress).join(",");
}

/** The gateway agent `index` calls for `fetch`es of platform URLs (ISLE_GATEWAY_URL): spread over them. */
function homeGateway(index: number, gateways: readonly ClusterGateway[]): ClusterGateway {
  return gateways[index % gateways.length]!;
}

/**
 * Starts `gateways` gateways (`gw1`…) and `agents` agent nodes (`node1`…), each on its own
 * host, and waits until every gateway is ready and counts every agent healthy. Throws NetnsUnavailableError on a machine
 * that cannot build network namespaces.
 */
export async function startIsleCluster(options: ClusterOptions): Promise<IsleCluster> {
  if (options.gateways < 1 || options.agents < 1) throw new Error("a cluster needs at least one gateway and one agent");
  const baseUrl = new URL(options.databaseUrl);
  const dbPort = Number(baseUrl.port || 5432);
  const gatewayHosts = Array.from({ length: options.gateways }, (_, i) => `gw${i + 1}`);
  const nodeHosts = Array.from({ length: options.agents }, (_, i) => `node${i + 1}`);
  const lab = await NetworkLab.create({ hosts: [...gatewayHosts, ...nodeHosts], forwardPorts: [...new Set([dbPort, 6379, 4222])] });
  const database = await createScratchDatabase(options.databaseUrl).catch(async (err: unknown) => {
    await lab.destroy();
    throw err;
  });
  const cluster = new IsleCluster(lab, randomBytes(24).toString("hex"), database);
  try {
    // Inside the namespaces the database is the forwarder on the bridge address.
    const inside = new URL(database.url);
    inside.hostname = lab.rootAddress;
    const platformDir = join(lab.dir, "platform");
    const shared = {
      DATABASE_URL: inside.toString(),
      ISLE_ADMIN_TOKEN: cluster.adminToken,
      ISLE_SECRETS_KEY: randomBytes(32).toString("base64"),
      ISLE_LOG_LEVEL: "info",
    };

    // One platform CA for every part, created by the first certificate issued and copied to
    // each gateway's data directory. The gateways boot while the nodes' certificates are issued.
    const certsOf = (name: string) => ({
      agent: issuePartCertificate(platformDir, "agent", name),
      sidecar: issuePartCertificate(platformDir, "sidecar", name, [lab.host(name).address]),
    });
    const nodeCerts = [certsOf(nodeHosts[0]!)];
    for (const name of gatewayHosts) {
      const { address } = lab.host(name);
      const dataDir = join(lab.dir, name);
      mkdirSync(join(dataDir, "pki"), { recursive: true });
      for (const file of ["ca.crt", "ca.key"]) copyFileSync(join(platformDir, "pki", file), join(dataDir, "pki", file));
      const url = `http://${address}:${ports.http}`;
      const env = {
        ...shared,
        ISLE_DATA_DIR: dataDir,
        ISLE_HOST: address,
        ISLE_PORT: String(ports.http),
        ISLE_CONTROL_HOST: address,
        ISLE_CONTROL_PORT: String(ports.control),
        ...options.env?.gateway,
      };
      const proc = lab.spawn(name, "gateway", process.execPath, [scripts.gateway], { env });
      cluster.gateways.push({ name, address, url, controlAddress: `${address}:${ports.control}`, dataDir, process: proc, api: new OperatorClient(url, () => env.ISLE_ADMIN_TOKEN) });
    }

    for (const name of nodeHosts.slice(1)) nodeCerts.push(certsOf(name));
    const { gateways, nodes } = cluster;
    nodeHosts.forEach((name, i) => {
      const { address } = lab.host(name);
      const dataDir = join(lab.dir, name);
      const common = { ISLE_DATA_DIR: dataDir, ISLE_AGENT_SOCKET: join(dataDir, "run", "agent.sock"), ISLE_LOG_LEVEL: "info" };
      const sidecar = lab.spawn(name, "sidecar", process.execPath, [scripts.sidecar], {
        env: { ...common, ...nodeCerts[i]!.sidecar, ISLE_SIDECAR_HOST: address, ISLE_SIDECAR_PORT: String(ports.sidecar), ...options.env?.sidecar },
      });
      const agent = lab.spawn(name, "agent", process.execPath, [scripts.agent], {
        env: {
          ...common,
          ...nodeCerts[i]!.agent,
          ISLE_AGENT_ID: name,
          ISLE_CONTROL_ADDRESS: controlAddresses(gateways),
          ISLE_AGENT_ADVERTISE: `${address}:${ports.sidecar}`,
          ISLE_AGENT_WORK_DIR: join(dataDir, "agent"),
          ISLE_WORKERD_PROCESSES: String(options.workerdProcesses ?? 1),
          ISLE_WORKERD_MEMORY_MB: "256",
          ISLE_GATEWAY_URL: homeGateway(i, gateways).url,
          ISLE_AGENT_METRICS_HOST: address,
          ISLE_AGENT_METRICS_PORT: String(ports.agentMetrics),
          ...options.env?.agent,
        },
      });
      nodes.push({ name, address, metricsUrl: `http://${address}:${ports.agentMetrics}/metrics`, sidecar, agent });
    });
    await cluster.waitReady();
    for (const gateway of gateways) await cluster.waitForAgents(gateway, nodes.length);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
