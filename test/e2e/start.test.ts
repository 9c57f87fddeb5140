import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { seedPgliteDataDir } from "@isle/db/testing";
import { afterEach, describe, expect, it } from "vitest";
import { isleBin } from "../harness/cli.js";
import { freePort } from "../harness/ports.js";
import { pidsMatching, pidsWithEnv, waitUntil } from "../harness/processes.js";
import { testRootfsDir } from "../harness/rootfs.js";

const root = resolve(import.meta.dirname, "../..");

/**
 * Runs `npm start`'s script (or `isle up`, which runs it too) on its own data directory and
 * ports; resolves once it printed its banner.
 */
async function startIsle(dataDir: string, via: "npm start" | "isle up" = "npm start"): Promise<{ proc: ChildProcess; output: () => string; port: number }> {
  const port = await freePort();
  const command = via === "isle up" ? [isleBin, "up"] : [process.execPath, join(root, "scripts/start.mjs")];
  const proc = spawn(command[0]!, command.slice(1), {
    env: {
      ...process.env,
      DATABASE_URL: "",
      ISLE_SKIP_SETUP: "1", // the test command has just built everything
      ISLE_DATA_DIR: dataDir,
      ISLE_PORT: String(port),
      ISLE_CONTROL_PORT: String(await freePort()),
      ISLE_SIDECAR_PORT: String(await freePort()),
      // The container root filesystems the other tests built (npm start's default, spelled out).
      ISLE_ROOTFS_DIR: testRootfsDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += String(d)));
  proc.stderr?.on("data", (d: Buffer) => (out += String(d)));
  await waitUntil(() => out.includes("Press Ctrl-C to stop."), 90_000, `npm start's banner:\n${out}`);
  return { proc, output: () => out, port };
}

/** Every process of one Isle: the parts carry its data directory in their environment, workerd on its command line. */
function isleProcesses(dataDir: string): number[] {
  return [...new Set([...pidsWithEnv("ISLE_DATA_DIR", dataDir), ...pidsMatching(dataDir)])];
}

describe("npm start", () => {
  let dataDir = "";
  afterEach(() => {
    // Whatever a failed test left: processes of this data directory only.
    for (const pid of isleProcesses(dataDir)) process.kill(pid, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("brings up every part, prints a working curl line and the operator token, and Ctrl-C leaves nothing behind", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "isle-start-"));
    const { proc, output, port } = await startIsle(dataDir);
    const url = /curl '([^']+)'/.exec(output())?.[1];
    expect(url).toBe(`http://127.0.0.1:${port}/fn/demo/hello?name=isle`);
    expect(output()).toMatch(/operator token: +isle_admin_\S{20,}/);
    const key = /demo tenant key: +(isk_\S+)/.exec(output())?.[1];
    const list = await fetch(`http://127.0.0.1:${port}/v1/tenants/demo/functions`, { headers: { authorization: `Bearer ${key}` } });
    expect(list.status).toBe(200);
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { message: string }).message).toBe("Hello, isle!");
    expect(pidsMatching(`workerd.*${dataDir}`).length).toBeGreaterThan(0);
    // launcher + gateway + sidecar + agent + its workerd pool
    expect(isleProcesses(dataDir).length).toBeGreaterThanOrEqual(5);

    proc.kill("SIGINT");
    const [code] = await once(proc, "exit");
    expect(code).toBe(0);
    expect(isleProcesses(dataDir)).toEqual([]);
  });

  it("is what `isle up` runs: the demo answers, and Ctrl-C to the CLI stops every part", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "isle-up-"));
    // Its database already made (the first test starts on an empty directory): only the launch is under test.
    await seedPgliteDataDir(dataDir);
    const { proc, output } = await startIsle(dataDir, "isle up");
    const url = /curl '([^']+)'/.exec(output())?.[1];
    expect(((await (await fetch(url!)).json()) as { message: string }).message).toBe("Hello, isle!");
    expect(isleProcesses(dataDir).length).toBeGreaterThanOrEqual(5);
    proc.kill("SIGINT");
    const [code] = await once(proc, "exit");
    expect(code).toBe(0);
    await waitUntil(() => isleProcesses(dataDir).length === 0, 10_000, "every part of `isle up` to exit");
  });

  it("takes every process down with it when it is killed outright", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "isle-start-"));
    await seedPgliteDataDir(dataDir);
    const { proc } = await startIsle(dataDir);
    expect(isleProcesses(dataDir).length).toBeGreaterThanOrEqual(5);
    proc.kill("SIGKILL");
    await once(proc, "exit");
    await waitUntil(() => isleProcesses(dataDir).length === 0, 10_000, "children of a killed launcher to exit");
  });
});
