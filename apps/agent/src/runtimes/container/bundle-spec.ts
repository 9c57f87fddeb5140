/**
 * The OCI runtime-spec `config.json` of one container replica, built as a
 * plain object by a pure function of the replica's settings (the bundle's
 * only variable part; the rootfs is shared and read-only).
 */

/** Where the function's HTTP server puts its Unix socket, inside the container. */
export const socketDirInContainer = "/run/isle";

/** The CFS period every replica gets; the quota is its share of a core of it. */
export const cpuPeriodMicros = 100_000;

export interface BundleSpecOptions {
  /** Absolute path of the (shared, read-only) root filesystem on the host. */
  rootfs: string;
  args: string[];
  /** `NAME=value` entries; nothing else reaches the process. */
  env: string[];
  /** Working directory inside the container; `/` when absent. */
  cwd?: string;
  /** Unprivileged ids the process runs as (e.g. 65534, nobody). */
  uid: number;
  gid: number;
  limits: ContainerLimits;
  /** Host directory mounted read-write at /run/isle, where the server's socket goes. */
  socketDir: string;
  /** cgroup path of this container, e.g. `/isle/<container id>` (see cgroupPathFor). */
  cgroupPath: string;
  hostname?: string;
  /** Host directories bind-mounted read-only, e.g. the function's code at /app (its mount point must exist in the rootfs). */
  mounts?: ReadonlyMount[];
}

export interface ReadonlyMount {
  destination: string;
  source: string;
}

export interface ContainerLimits {
  memoryMb: number;
  /** Share of one core: 0.5 is half a core, 2 two cores. */
  cpu: number;
  /** Most processes and threads the container may have at once. */
  pidsMax: number;
  /** Size cap of the writable /tmp (a tmpfs, counted in the memory limit). */
  tmpMb: number;
}

/** The OCI spec fields Isle writes; a subset of runtime-spec 1.0. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: false;
    user: { uid: number; gid: number; additionalGids: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<"bounding" | "effective" | "inheritable" | "permitted" | "ambient", string[]>;
    rlimits: Array<{ type: string; hard: number; soft: number }>;
    noNewPrivileges: true;
  };
  root: { path: string; readonly: true };
  hostname: string;
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: {
    namespaces: Array<{ type: string }>;
    cgroupsPath: string;
    resources: {
      devices: Array<{ allow: boolean; access: string }>;
      memory: { limit: number; swap: number };
      cpu: { quota: number; period: number };
      pids: { limit: number };
    };
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/** runc's own defaults (`runc spec`): kernel interfaces a container must not read or change. */
const maskedPaths = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];
const readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** The CFS quota per period of a share of cores (at least 1 ms, the kernel's floor). */
export function cpuQuotaMicros(cpu: number): number {
  return Math.max(1000, Math.round(cpu * cpuPeriodMicros));
}

/** The cgroup path of container `id` under Isle's parent group (`isle` by default). */
export function cgroupPathFor(id: string, parent = "isle"): string {
  return `/${parent}/${id}`;
}

/** Builds the bundle's config.json object. Pure: same options, same object. */
export function buildBundleSpec(o: BundleSpecOptions): OciSpec {
  const { memoryMb, cpu, pidsMax, tmpMb } = o.limits;
  if (!(memoryMb > 0) || !(cpu > 0) || !(pidsMax > 0) || !(tmpMb > 0)) {
    throw new Error(`container limits must be positive: ${JSON.stringify(o.limits)}`);
  }
  const memoryBytes = Math.round(memoryMb * 1024 * 1024);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: o.uid, gid: o.gid, additionalGids: [] },
      args: o.args,
      env: o.env,
      cwd: o.cwd ?? "/",
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: true },
    hostname: o.hostname ?? "isle",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
      },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", `size=${tmpMb}m`] },
      { destination: socketDirInContainer, type: "bind", source: o.socketDir, options: ["rbind", "rw", "nosuid", "nodev", "noexec"] },
      // Executable (an exec function's handler is run from it) but never writable or setuid.
      ...(o.mounts ?? []).map((m) => ({ destination: m.destination, type: "bind", source: m.source, options: ["rbind", "ro", "nosuid", "nodev"] })),
    ],
    linux: {
      // No user namespace: runc, as root, setuid()s to the unprivileged ids
      // with every capability dropped and no_new_privs, which is what makes
      // them powerless; a user namespace would add id-mapped rootfs ownership
      // for no gain here. A fresh network namespace has only `lo`.
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "cgroup" }],
      cgroupsPath: o.cgroupPath,
      resources: {
        // Deny every device node; runc still creates its default safe set
        // (null, zero, full, random, urandom, tty) and allows those.
        devices: [{ allow: false, access: "rwm" }],
        // swap = memory + swap in OCI terms: equal to the limit means no swap.
        memory: { limit: memoryBytes, swap: memoryBytes },
        cpu: { quota: cpuQuotaMicros(cpu), period: cpuPeriodMicros },
        pids: { limit: pidsMax },
      },
      maskedPaths,
      readonlyPaths,
    },
  };
}
