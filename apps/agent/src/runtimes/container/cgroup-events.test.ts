import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cgroupVersion, readContainerEvents } from "./cgroup-events.js";

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function fakeRoot(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), "isle-cgroup-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("readContainerEvents", () => {
  it("reads v2's memory.events and pids.events of the container's group", () => {
    const dir = fakeRoot({
      "cgroup.controllers": "cpu memory pids\n",
      "isle/c1/memory.events": "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n",
      "isle/c1/pids.events": "max 7\n",
    });
    expect(cgroupVersion(dir)).toBe("v2");
    expect(readContainerEvents("/isle/c1", "v2", dir)).toEqual({ oom: 2, oomKill: 1, pidsMax: 7 });
  });

  it("reads v1's memory.oom_control and the pids controller's pids.events", () => {
    const dir = fakeRoot({
      "memory/isle/c1/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
      "pids/isle/c1/pids.events": "max 5\n",
    });
    expect(cgroupVersion(dir)).toBe("v1");
    expect(readContainerEvents("/isle/c1", "v1", dir)).toEqual({ oom: 3, oomKill: 3, pidsMax: 5 });
  });

  it("counts nothing for a group that is gone", () => {
    expect(readContainerEvents("/isle/gone", "v1", fakeRoot({}))).toEqual({ oom: 0, oomKill: 0, pidsMax: 0 });
  });
});
