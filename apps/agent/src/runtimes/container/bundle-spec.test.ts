import { describe, expect, it } from "vitest";
import { buildBundleSpec, cgroupPathFor, type BundleSpecOptions } from "./bundle-spec.js";

const options: BundleSpecOptions = {
  rootfs: "/var/lib/isle/rootfs/python3",
  args: ["/usr/bin/python3", "/app/server.py"],
  env: ["PATH=/usr/bin:/bin", "GREETING=hi"],
  cwd: "/app",
  uid: 65534,
  gid: 65534,
  limits: { memoryMb: 128, cpu: 0.5, pidsMax: 64, tmpMb: 16 },
  socketDir: "/var/lib/isle/containers/isle-abc/run",
  cgroupPath: cgroupPathFor("isle-abc"),
};

describe("buildBundleSpec", () => {
  const spec = buildBundleSpec(options);

  it("runs the given command as the unprivileged user, with no capability and no new privileges", () => {
    expect(spec.process).toEqual({
      terminal: false,
      user: { uid: 65534, gid: 65534, additionalGids: [] },
      args: ["/usr/bin/python3", "/app/server.py"],
      env: ["PATH=/usr/bin:/bin", "GREETING=hi"],
      cwd: "/app",
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    });
  });

  it("mounts the root read-only, a size-capped /tmp and the socket directory, nothing else of the host", () => {
    expect(spec.root).toEqual({ path: "/var/lib/isle/rootfs/python3", readonly: true });
    expect(spec.mounts.find((m) => m.destination === "/tmp")).toEqual({
      destination: "/tmp",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "nodev", "mode=1777", "size=16m"],
    });
    expect(spec.mounts.find((m) => m.destination === "/run/isle")).toEqual({
      destination: "/run/isle",
      type: "bind",
      source: "/var/lib/isle/containers/isle-abc/run",
      options: ["rbind", "rw", "nosuid", "nodev", "noexec"],
    });
    expect(spec.mounts.filter((m) => m.type === "bind")).toHaveLength(1);
    expect(spec.mounts.find((m) => m.destination === "/sys")?.options).toContain("ro");
  });

  it("gives fresh pid, network, ipc, uts, mount and cgroup namespaces, none joined by path", () => {
    expect(spec.linux.namespaces).toEqual([
      { type: "pid" },
      { type: "network" },
      { type: "ipc" },
      { type: "uts" },
      { type: "mount" },
      { type: "cgroup" },
    ]);
  });

  it("turns the limits into cgroup resources: bytes, no swap, a CFS quota for the share of a core, a pids cap", () => {
    expect(spec.linux.cgroupsPath).toBe("/isle/isle-abc");
    expect(spec.linux.resources).toEqual({
      devices: [{ allow: false, access: "rwm" }],
      memory: { limit: 134_217_728, swap: 134_217_728 },
      cpu: { quota: 50_000, period: 100_000 },
      pids: { limit: 64 },
    });
    expect(buildBundleSpec({ ...options, limits: { ...options.limits, cpu: 2 } }).linux.resources.cpu.quota).toBe(200_000);
  });

  it("masks and write-protects the kernel interfaces runc's defaults do", () => {
    expect(spec.linux.maskedPaths).toEqual(expect.arrayContaining(["/proc/kcore", "/proc/keys", "/sys/firmware"]));
    expect(spec.linux.maskedPaths).toHaveLength(10);
    expect(spec.linux.readonlyPaths).toEqual(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
  });

  it("refuses limits that would mean no limit", () => {
    expect(() => buildBundleSpec({ ...options, limits: { ...options.limits, memoryMb: 0 } })).toThrow(/positive/);
    expect(() => buildBundleSpec({ ...options, limits: { ...options.limits, pidsMax: Number.NaN } })).toThrow(/positive/);
  });
});
