import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NamespacedProcess } from "./netns-process.js";
import { forwardTcp, type TcpForwarder } from "./tcp-forwarder.js";

/** Thrown when this machine cannot build the network (no iproute2, not root, no CAP_NET_ADMIN). */
export class NetnsUnavailableError extends Error {
  override name = "NetnsUnavailableError";
}

/** One simulated machine: a network namespace with one address on the lab's bridge. */
export interface LabHost {
  /** The short name the test gave it (`gw1`, `node2`). */
  name: string;
  /** Its `ip netns` name, `isle-<run>-<name>`. */
  netns: string;
  /** Its address on the bridge. */
  address: string;
}

export interface NetworkLabOptions {
  /** Host names: 1-8 of a-z and 0-9, at most 200 hosts. */
  hosts: readonly string[];
  /**
   * Loopback-only services of this machine to reach from the hosts: each port gets a forwarder
   * on the bridge address (`lab.rootAddress`). Default Postgres, Redis and NATS.
   */
  forwardPorts?: readonly number[];
}

/** Everything of one lab is named `isle-<run>-…` so a sweep can tell it apart; names fit IFNAMSIZ (15). */
const namePattern = /^isle-([0-9a-f]{6})-/;
/** Each run's owner (pid and start time), so a sweep removes only what dead runs left. */
const ownersDir = "/run/isle-test-netns";

/**
 * Several "machines" on one Linux box for multi-host tests: a bridge in the root namespace,
 * a network namespace per host joined to it by a veth pair, each with its own address and a
 * default route via the bridge. Hosts reach each other and the root namespace directly (one
 * L2 segment, no forwarding or NAT); the root namespace reaches them by their addresses.
 */
export class NetworkLab {
  private readonly hostsByName = new Map<string, LabHost>();
  private readonly processes: NamespacedProcess[] = [];
  private readonly forwarders: TcpForwarder[] = [];
  private destroyed = false;
  private readonly onExit = () => this.teardown();

  private constructor(
    readonly runId: string,
    readonly ip: string,
    /** The bridge's address (the root namespace's on the lab network) and the hosts' gateway. */
    readonly rootAddress: string,
    /** Logs of the lab's processes, and room for their data; removed by destroy(). */
    readonly dir: string,
  ) {}

  get bridge(): string {
    return `isle-${this.runId}-br`;
  }

  get hosts(): LabHost[] {
    return [...this.hostsByName.values()];
  }

  /** Builds the network. Throws NetnsUnavailableError when the machine cannot (never skip on it). */
  static async create(options: NetworkLabOptions): Promise<NetworkLab> {
    const ip = requireNetworkPrivileges();
    for (const name of options.hosts) {
      if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`host name ${JSON.stringify(name)}: 1-8 of a-z and 0-9`);
    }
    if (new Set(options.hosts).size !== options.hosts.length || options.hosts.length > 200) throw new Error("host names must be unique, at most 200");
    sweepStaleLabs(ip);
    const runId = randomBytes(3).toString("hex");
    const prefix = freeSubnet(ip);
    const lab = new NetworkLab(runId, ip, `${prefix}.1`, mkdtempSync(join(tmpdir(), `isle-netns-${runId}-`)));
    // The owner file first: from here on a sweep by a parallel run leaves this one alone.
    mkdirSync(ownersDir, { recursive: true });
    writeFileSync(join(ownersDir, runId), ownerStamp(process.pid) ?? "");
    process.once("exit", lab.onExit);
    try {
      // Off the host's firewall: with br_netfilter loaded, bridged frames between hosts would
      // meet iptables' FORWARD chain, which a Docker host, say, sets to DROP.
      const bridge = `link add ${lab.bridge} type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0`;
      const root = [bridge, `addr add ${lab.rootAddress}/24 dev ${lab.bridge}`, `link set ${lab.bridge} up`];
      options.hosts.forEach((name, i) => {
        const host = { name, netns: `isle-${runId}-${name}`, address: `${prefix}.${i + 2}` };
        lab.hostsByName.set(name, host);
        const veth = `isle-${runId}-${i}`;
        root.push(`netns add ${host.netns}`, `link add ${veth} type veth peer name eth0 netns ${host.netns}`, `link set ${veth} master ${lab.bridge} up`);
      });
      ipBatch(ip, root);
      for (const host of lab.hosts) {
        ipBatch(ip, [`addr add ${host.address}/24 dev eth0`, "link set eth0 up", "link set lo up", `route add default via ${lab.rootAddress}`], host.netns);
      }
      for (const port of options.forwardPorts ?? [5432, 6379, 4222]) {
        lab.forwarders.push(await forwardTcp({ host: lab.rootAddress, port }, { host: "127.0.0.1", port }));
      }
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  host(name: string): LabHost {
    const host = this.hostsByName.get(name);
    if (!host) throw new Error(`no host ${name} in this lab (${[...this.hostsByName.keys()].join(", ")})`);
    return host;
  }

  /**
   * Starts `command` in `host`'s namespace with `env` added to the test's environment; its
   * output goes to `<lab.dir>/<host>-<name>.log`. The lab kills it, and all else in the
   * namespace, when destroyed.
   */
  spawn(host: string, name: string, command: string, args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): NamespacedProcess {
    const proc = new NamespacedProcess(host, name, {
      netns: this.host(host).netns,
      command,
      args,
      env: options.env ?? {},
      cwd: options.cwd,
      logFile: join(this.dir, `${host}-${name}.log`),
    });
    proc.start();
    this.processes.push(proc);
    return proc;
  }

  /** Pids of every process in `host`'s namespace (`ip netns pids`). */
  pids(host: string): number[] {
    return netnsPids(this.ip, this.host(host).netns);
  }

  /**
   * SIGKILLs everything in `host`'s namespace at once — the machine losing power — and waits
   * until nothing runs there. Its processes can be started again (`NamespacedProcess.start`).
   */
  async killAll(host: string): Promise<void> {
    const netns = this.host(host).netns;
    const started = this.processes.filter((p) => p.host === host);
    for (const proc of started) proc.signalGroup("SIGKILL");
    killPids(netnsPids(this.ip, netns));
    await Promise.all(started.map((p) => p.exited()));
    const until = Date.now() + 10_000;
    while (netnsPids(this.ip, netns).length > 0) {
      if (Date.now() > until) throw new Error(`processes in ${netns} outlived SIGKILL: ${netnsPids(this.ip, netns).join(" ")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The last lines of every process's log, for failure messages. */
  tail(lines = 20): string {
    return this.processes.map((p) => p.tail(lines)).join("\n");
  }

  /**
   * SIGKILLs every process in the lab's namespaces, deletes namespaces and bridge (their veth
   * pairs go with them), closes the forwarders. Safe to call twice, and after a failed create.
   */
  async destroy(): Promise<void> {
    this.teardown();
    await Promise.all(this.forwarders.splice(0).map((f) => f.close()));
  }

  /** The synchronous part of destroy(), also run if the test process exits without it. */
  private teardown(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off("exit", this.onExit);
    // Its own process groups first: a process still on its way into a namespace (setpriv, then
    // `ip netns exec`) is not among the namespace's pids yet, and would run on in it once deleted.
    for (const proc of this.processes) proc.signalGroup("SIGKILL");
    removeRun(this.ip, this.runId); // the lab's directory too
  }
}

/** `ip`'s absolute path, once we know the machine can build namespaces; a clear error otherwise. */
function requireNetworkPrivileges(): string {
  const ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].find((path) => {
    try {
      execFileSync(path, ["-V"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  });
  if (!ip) throw new NetnsUnavailableError("multi-host tests need `ip` (iproute2): run scripts/setup.sh as root, or apt-get install iproute2");
  // CAP_NET_ADMIN (12) builds links and addresses; CAP_SYS_ADMIN (21) mounts /run/netns and enters namespaces.
  const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"}`);
  const missing = [
    [12n, "CAP_NET_ADMIN"],
    [21n, "CAP_SYS_ADMIN"],
  ].filter(([bit]) => ((capEff >> (bit as bigint)) & 1n) === 0n);
  if (missing.length > 0) {
    throw new NetnsUnavailableError(
      `multi-host tests build network namespaces and need CAP_NET_ADMIN and CAP_SYS_ADMIN (missing ${missing.map(([, cap]) => cap).join(", ")}; uid ${process.getuid?.()}): run them as root with those capabilities (in a container: --privileged)`,
    );
  }
  return ip;
}

/** Runs `ip -batch` (in `netns` when given); stops at the first failing line, whose error it throws. */
function ipBatch(ip: string, lines: readonly string[], netns?: string, force = false): void {
  const args = [...(netns ? ["-n", netns] : []), ...(force ? ["-force"] : []), "-batch", "-"];
  try {
    execFileSync(ip, args, { input: `${lines.join("\n")}\n`, stdio: ["pipe", "ignore", "pipe"] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
    if (force) return; // cleanup: what is already gone is fine
    const denied = /Operation not permitted|Permission denied/.test(stderr) ? NetnsUnavailableError : Error;
    throw new denied(`ip ${args.join(" ")} failed: ${stderr}\n  ${lines.join("\n  ")}`);
  }
}

function ipJson<T>(ip: string, args: readonly string[]): T[] {
  const out = execFileSync(ip, ["-j", ...args], { encoding: "utf8" }).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

function netnsPids(ip: string, netns: string): number[] {
  try {
    return execFileSync(ip, ["netns", "pids", netns], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // the namespace is gone
  }
}

function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
}

/** A 10.x.y.0/24 that no address or route of the root namespace overlaps; returns `10.x.y`. */
function freeSubnet(ip: string): string {
  const toInt = (a: string) => a.split(".").reduce((n, part) => n * 256 + Number(part), 0);
  const taken: [number, number][] = [];
  const add = (dst: string, len: number) => {
    const size = 2 ** (32 - len);
    const start = Math.floor(toInt(dst) / size) * size;
    taken.push([start, start + size - 1]);
  };
  for (const link of ipJson<{ addr_info?: { local: string; prefixlen: number }[] }>(ip, ["-4", "addr", "show"])) {
    for (const a of link.addr_info ?? []) add(a.local, a.prefixlen);
  }
  for (const route of ipJson<{ dst: string }>(ip, ["-4", "route", "show", "table", "all"])) {
    if (route.dst === "default") continue;
    const [dst, len] = route.dst.split("/");
    if (dst && /^\d+\.\d+\.\d+\.\d+$/.test(dst)) add(dst, Number(len ?? 32));
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const prefix = `10.${randomInt(64, 255)}.${randomInt(0, 256)}`;
    const start = toInt(`${prefix}.0`);
    if (!taken.some(([lo, hi]) => start <= hi && start + 255 >= lo)) return prefix;
  }
  throw new Error("no free 10.x.y.0/24 for the test network");
}

/** `pid starttime` of a live process (starttime tells a reused pid apart), undefined when it is gone. */
function ownerStamp(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return `${pid} ${stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]}`;
  } catch {
    return undefined;
  }
}

function ownerAlive(runId: string): boolean {
  try {
    const stamp = readFileSync(join(ownersDir, runId), "utf8").trim();
    return stamp !== "" && ownerStamp(Number(stamp.split(" ")[0])) === stamp;
  } catch {
    return false;
  }
}

/** Kills what runs in a run's namespaces, deletes them and its links, then forgets its owner. */
function removeRun(ip: string, runId: string): void {
  const namespaces = ipJson<{ name: string }>(ip, ["netns", "list"]).map((n) => n.name).filter((n) => n.startsWith(`isle-${runId}-`));
  for (const netns of namespaces) killPids(netnsPids(ip, netns));
  const links = ipJson<{ ifname: string }>(ip, ["link", "show"]).map((l) => l.ifname).filter((n) => n.startsWith(`isle-${runId}-`));
  ipBatch(ip, [...namespaces.map((n) => `netns del ${n}`), ...links.map((l) => `link del ${l}`)], undefined, true);
  for (const entry of readdirSync(tmpdir())) {
    if (entry.startsWith(`isle-netns-${runId}-`)) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
  rmSync(join(ownersDir, runId), { force: true });
}

/**
 * Removes what earlier runs left behind (a crashed test process cannot clean up): every
 * `isle-<run>-…` namespace and link whose run's owner process is gone. Runs in progress are
 * left alone. Returns the run ids it removed.
 */
export function sweepStaleLabs(ip = requireNetworkPrivileges()): string[] {
  const runs = new Set<string>();
  for (const n of ipJson<{ name: string }>(ip, ["netns", "list"])) runs.add(namePattern.exec(n.name)?.[1] ?? "");
  for (const l of ipJson<{ ifname: string }>(ip, ["link", "show"])) runs.add(namePattern.exec(l.ifname)?.[1] ?? "");
  try {
    for (const entry of readdirSync(ownersDir)) if (/^[0-9a-f]{6}$/.test(entry)) runs.add(entry);
  } catch {
    // no run has ever started here
  }
  runs.delete("");
  const stale = [...runs].filter((run) => !ownerAlive(run));
  for (const run of stale) removeRun(ip, run);
  return stale;
}
