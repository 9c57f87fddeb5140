import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processTree } from "../harness/processes.js";
import { socketInodes, tcpListeners, unixListeners, type Listener } from "../harness/sockets.js";
import { Stack, type Part } from "../harness/stack.js";

const loopback = new Set(["127.0.0.1", "::1"]);

/** The `ISLE_…HOST` variables a process was started with: none, or the defaults are not what runs. */
function hostVariables(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, "latin1")
    .split("\0")
    .filter((entry) => /^ISLE_\w*HOST=/.test(entry));
}

/** The first words of a process's command line, to name it in a failure message. */
function commandOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").slice(0, 3).join(" ");
}

// A fresh install must not expose the internal ports (control plane, sidecar,
// agent, metrics, workerd) on the machine's public interfaces: only the
// operator's explicit settings may open them. The stack runs with every host
// setting at its default; the kernel's socket tables say what each process
// of it (and each process below them, workerd included) listens on.
describe("listeners of a stack on default settings", () => {
  let stack: Stack;
  const parts: Part[] = ["gateway", "sidecar", "agent"];

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** What each process of the stack listens on, by pid. */
  function listenersByPid(listeners: Listener[]): Map<number, Listener[]> {
    const byPid = new Map<number, Listener[]>();
    for (const pid of processTree(parts.map((part) => stack.pid(part)))) {
      const held = socketInodes(pid);
      byPid.set(pid, listeners.filter((l) => held.has(l.inode)));
    }
    return byPid;
  }

  it("starts every part without a host setting", () => {
    for (const part of parts) expect(hostVariables(stack.pid(part)), part).toEqual([]);
  });

  it("binds every TCP listener of every process to loopback", () => {
    const byPid = listenersByPid(tcpListeners(stack.pid("gateway")));
    // The walk reached the workerd pool below the agent.
    for (const pid of stack.workerdPids()) expect([...byPid.keys()]).toContain(pid);
    const all = [...byPid.entries()].flatMap(([pid, listeners]) => listeners.map((l) => ({ pid, command: commandOf(pid), ...l })));
    // Every port the harness gave a part is among them: the tables were read right.
    const env = (part: Part, name: string) => Number(stack.envs.get(part)?.[name]);
    const ports = all.map((l) => l.port);
    expect(ports).toEqual(
      expect.arrayContaining([
        env("gateway", "ISLE_PORT"),
        env("gateway", "ISLE_CONTROL_PORT"),
        env("sidecar", "ISLE_SIDECAR_PORT"),
        env("agent", "ISLE_AGENT_METRICS_PORT"),
      ]),
    );
    expect(all.filter((l) => !loopback.has(l.address))).toEqual([]);
  });

  it("serves the agent's invoke endpoint on its Unix socket, and the agent and workerd on no other TCP port", () => {
    const agent = stack.pid("agent");
    const socket = stack.envs.get("agent")?.ISLE_AGENT_SOCKET;
    const held = socketInodes(agent);
    expect(unixListeners(agent).filter((l) => held.has(l.inode)).map((l) => l.address)).toContain(socket);
    const byPid = listenersByPid(tcpListeners(agent));
    const metricsPort = Number(stack.envs.get("agent")?.ISLE_AGENT_METRICS_PORT);
    expect(byPid.get(agent)?.map((l) => l.port)).toEqual([metricsPort]);
    for (const pid of stack.workerdPids()) expect(byPid.get(pid)).toEqual([]);
  });
});
