import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkLab, sweepStaleLabs } from "../harness/netns.js";
import { pidsMatching, waitUntil } from "../harness/processes.js";

// The multi-host harness itself: two "machines" in network namespaces on one bridge. It needs
// root; without it NetworkLab.create throws and this file fails (it never skips).
const root = resolve(import.meta.dirname, "../..");
const postgresUrl = process.env.ISLE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A node one-liner's output once it has exited with 0; its log otherwise. */
async function runIn(lab: NetworkLab, host: string, name: string, script: string, env: Record<string, string> = {}): Promise<string> {
  const proc = lab.spawn(host, name, process.execPath, ["-e", script], { env, cwd: root });
  const status = await proc.exited();
  const log = proc.tail(50);
  if (status !== 0) throw new Error(`${name} in ${host} ended with ${status}\n${log}`);
  return log.split("\n").slice(1).join("\n");
}

describe("network namespaces (multi-host harness)", () => {
  let lab: NetworkLab;

  beforeAll(async () => {
    lab = await NetworkLab.create({ hosts: ["a", "b"] });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it("gives each host its own address on the bridge", () => {
    const [a, b] = [lab.host("a"), lab.host("b")];
    expect(a.address).not.toBe(b.address);
    for (const host of [a, b]) {
      const addrs = execFileSync(lab.ip, ["-n", host.netns, "-4", "-o", "addr", "show"], { encoding: "utf8" });
      expect(addrs).toContain(`inet ${host.address}/24`);
      expect(addrs).toContain("inet 127.0.0.1/8"); // lo is up
    }
  });

  it("a server in one namespace answers the other namespace and the host, and dies with kill -9, children too", async () => {
    const a = lab.host("a");
    // The server starts a child of its own, as the agent starts workerd: kill() must reach it too.
    const server = lab.spawn(
      "a",
      "http",
      process.execPath,
      [
        "-e",
        `require("node:child_process").spawn("sleep", ["3600"], { stdio: "ignore" });
         require("node:http").createServer((req, res) => res.end("hello from " + req.socket.localAddress + " to " + req.socket.remoteAddress)).listen(8000, "${a.address}");`,
      ],
      { cwd: root },
    );
    const url = `http://${a.address}:8000/`;
    await waitUntil(() => fetch(url).then((r) => r.ok, () => false), 10_000, `${url}\n${lab.tail()}`);

    expect(await (await fetch(url)).text()).toBe(`hello from ${a.address} to ${lab.rootAddress}`);
    const fromB = await runIn(lab, "b", "client", `fetch("${url}").then((r) => r.text()).then(console.log)`);
    expect(fromB).toBe(`hello from ${a.address} to ${lab.host("b").address}`);

    const inA = lab.pids("a");
    expect(inA).toContain(server.pid);
    expect(inA.length).toBe(2); // node and its sleep
    await server.kill();
    expect(await server.exited()).toBe("SIGKILL");
    await waitUntil(() => lab.pids("a").length === 0, 5_000, "the server's child to die with it");
    await expect(fetch(url, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();

    // Started again, it serves again (on the same address and port).
    server.start();
    await waitUntil(() => fetch(url).then((r) => r.ok, () => false), 10_000, `${url} after a restart\n${lab.tail()}`);
    await server.kill();
  });

  it("a process in a namespace reaches the host's loopback-only Postgres through the forwarder", async () => {
    const url = new URL(postgresUrl);
    url.hostname = lab.rootAddress;
    const out = await runIn(
      lab,
      "b",
      "psql",
      `const pg = require("pg");
       const client = new pg.Client({ connectionString: process.env.PG_URL });
       client.connect().then(() => client.query("select 1 as one")).then((r) => { console.log(JSON.stringify(r.rows)); return client.end(); });`,
      { PG_URL: url.toString() },
    );
    expect(out).toBe('[{"one":1}]');
  });

  it("destroy leaves no namespace, bridge, veth or process behind", async () => {
    const other = await NetworkLab.create({ hosts: ["x", "y"], forwardPorts: [] });
    other.spawn("x", "sleeper", "sleep", ["3600"]);
    other.spawn("y", "sleeper", "sleep", ["3600"]);
    const prefix = `isle-${other.runId}-`;
    const ours = () => ({
      netns: execFileSync(lab.ip, ["netns", "list"], { encoding: "utf8" }).split("\n").filter((l) => l.startsWith(prefix)),
      links: execFileSync(lab.ip, ["-o", "link", "show"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(`: ${prefix}`)),
    });
    expect(ours().netns).toHaveLength(2);
    expect(ours().links).toHaveLength(3); // the bridge and two veths
    await other.destroy();
    expect(ours()).toEqual({ netns: [], links: [] });
    await waitUntil(() => pidsMatching("^sleep 3600$").length === 0, 5_000, "the sleepers to die");
    // The first lab is untouched by the second's creation and destruction (and by its sweep).
    expect(execFileSync(lab.ip, ["netns", "list"], { encoding: "utf8" })).toContain(lab.host("a").netns);
  });

  /** Runs `body` as an ES module (TypeScript) that imports the harness, in a process of its own. */
  function harnessProcess(body: string, prefix: string[] = []) {
    const dir = mkdtempSync(join(tmpdir(), "isle-netns-script-"));
    const script = join(dir, "script.mts");
    writeFileSync(script, `import { NetworkLab } from ${JSON.stringify(join(root, "test/harness/netns.ts"))};\n${body}`);
    const [command, ...args] = [...prefix, process.execPath, "--import", "tsx", script];
    const child = spawn(command!, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    child.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const firstLine = new Promise<string>((done, fail) => {
      child.stdout.once("data", (chunk: Buffer) => done(String(chunk).trim()));
      child.once("exit", (code) => fail(new Error(`the script exited with ${code} before printing`)));
    });
    return { child, firstLine };
  }

  it("a lab whose test process was killed is swept by the next one, a running one is not", async () => {
    const { child, firstLine } = harnessProcess(
      `const lab = await NetworkLab.create({ hosts: ["z"], forwardPorts: [] });
       console.log(lab.runId);
       setInterval(() => undefined, 1000);`,
    );
    const runId = await firstLine;
    const left = () => execFileSync(lab.ip, ["netns", "list"], { encoding: "utf8" }).includes(`isle-${runId}-z`);
    expect(sweepStaleLabs()).not.toContain(runId); // its owner is alive
    expect(left()).toBe(true);
    child.kill("SIGKILL"); // no exit hook runs: the namespace is left behind
    await new Promise((done) => child.once("exit", done));
    expect(left()).toBe(true);
    expect(sweepStaleLabs()).toContain(runId);
    expect(execFileSync(lab.ip, ["netns", "list"], { encoding: "utf8" })).toContain(lab.host("a").netns); // ours is alive
    expect(left()).toBe(false);
    expect(execFileSync(lab.ip, ["-o", "link", "show"], { encoding: "utf8" })).not.toContain(`isle-${runId}-`);
  });

  it("refuses, with an error that says why, where it may not build namespaces", async () => {
    // Root without capabilities, as in an unprivileged container.
    const { firstLine } = harnessProcess(
      `await NetworkLab.create({ hosts: ["z"] }).then(
         () => console.log("created"),
         (err) => console.log(err.name + ": " + err.message),
       );`,
      ["/usr/bin/setpriv", "--bounding-set", "-all", "--inh-caps", "-all", "--"],
    );
    expect(await firstLine).toMatch(/^NetnsUnavailableError: multi-host tests build network namespaces and need CAP_NET_ADMIN and CAP_SYS_ADMIN/);
  });
});
