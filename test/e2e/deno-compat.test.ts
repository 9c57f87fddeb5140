import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { freePort } from "../harness/ports.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

// DESIGN.md §3: "same function file must behave the same under real `deno run`
// and under Isle". Each Deno-style fixture runs under the real Deno binary (the
// `deno` devDependency) on a free loopback port and, unchanged, on Isle; the
// same requests must get the same status, body and headers from both.

const root = resolve(import.meta.dirname, "../..");
const fixturesDir = join(root, "test/fixtures/functions");
const scratch = mkdtempSync(join(tmpdir(), "isle-deno-compat-"));
const children: ChildProcess[] = [];

/** The real Deno binary: the npm package's, or its platform package's. */
function denoBinary(): string {
  const platform = `${process.platform}-${process.arch}${process.platform === "linux" ? "-glibc" : ""}`;
  const candidates = [join(root, "node_modules/deno/deno"), join(root, `node_modules/@deno/${platform}/deno`)];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`no Deno binary at ${candidates.join(" or ")}: run npm install`);
  return found;
}

// deno.land cannot be reached from here (only the npm registry can), so under
// Deno the std URL is mapped by an import map to this local stand-in, which
// implements std's serve with Deno.serve as std itself does. Isle maps the same
// URL to its own built-in shim.
const stdUrl = "https://deno.land/std@0.177.0/http/server.ts";
const stdStandIn = `export async function serve(handler, options = {}) {
  const localAddr = { transport: "tcp", hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 8000 };
  await Deno.serve({ ...options, handler: (request, info) => handler(request, { localAddr, remoteAddr: info.remoteAddr }) }).finished;
}
`;

interface DenoRun {
  fixture: string;
  /** `deno serve` for export-default modules, `deno run` for Deno.serve ones. */
  command?: "run" | "serve";
  env?: Record<string, string>;
  /** Variables the fixture may read (Deno refuses unpermitted reads, even of unset ones). */
  allowEnv?: string[];
  importMap?: Record<string, string>;
}

/** Starts a fixture under Deno with only loopback network (and the env it reads); returns its base URL. */
async function startDeno({ fixture: name, command = "run", env = {}, allowEnv = [], importMap }: DenoRun): Promise<string> {
  // A copy outside the repository, so Deno finds no package.json or config but the fixture's own.
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(join(fixturesDir, name), dir, { recursive: true });
  const port = await freePort();
  const args = [command, "--allow-net=127.0.0.1"];
  if (allowEnv.length > 0) args.push(`--allow-env=${allowEnv.join(",")}`);
  if (importMap) {
    writeFileSync(join(scratch, "std-http-server.js"), stdStandIn);
    writeFileSync(join(dir, "..", `${name}-import-map.json`), JSON.stringify({ imports: importMap }));
    args.push(`--import-map=${join(dir, "..", `${name}-import-map.json`)}`);
  }
  if (command === "serve") args.push(`--port=${port}`, "--host=127.0.0.1");
  args.push("index.ts");
  const child = spawn(denoBinary(), args, {
    cwd: dir,
    // DENO_SERVE_ADDRESS moves Deno.serve's default port, so the fixture runs unchanged.
    env: {
      PATH: process.env.PATH ?? "",
      HOME: scratch,
      DENO_DIR: join(scratch, "deno-dir"),
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      // Trust the machine's CA store too, as npm and Node here do, for npm: downloads.
      DENO_TLS_CA_STORE: "system,mozilla",
      DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const output: string[] = [];
  child.stdout?.on("data", (b: Buffer) => output.push(String(b)));
  child.stderr?.on("data", (b: Buffer) => output.push(String(b)));
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`deno ${name} exited ${child.exitCode}:\n${output.join("")}`);
      return fetch(url).then(() => true, () => false);
    },
    60_000,
    `deno ${name} on ${url}\n${output.join("")}`,
  );
  return url;
}

interface Probe {
  method?: string;
  path: string;
  body?: string;
}

interface Answer {
  status: number;
  body: string;
  contentType: string | null;
  fixture: string | null;
}

async function ask(base: string, { method = "GET", path, body }: Probe): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method, body });
  return { status: res.status, body: await res.text(), contentType: res.headers.get("content-type"), fixture: res.headers.get("x-fixture") };
}

const cases: (DenoRun & { probes: Probe[] })[] = [
  {
    fixture: "deno-serve",
    probes: [{ path: "/" }, { path: "/a/b?x=1&y=two" }, { method: "POST", path: "/submit", body: "payload body" }],
  },
  { fixture: "deno-serve-options", probes: [{ path: "/" }, { path: "/thing?q=1" }, { path: "/fail" }] },
  { fixture: "deno-std-serve", importMap: { [stdUrl]: "./std-http-server.js" }, probes: [{ path: "/" }, { method: "PUT", path: "/x?name=ada" }] },
  // Isle cannot give a function env vars yet, so both sides run with GREETING unset
  // and must agree on the default; the set value is compared separately below, and
  // on Isle's side by the bundler's unit tests (formats.test.ts, "Deno.env").
  { fixture: "deno-env", allowEnv: ["GREETING"], probes: [{ path: "/" }, { path: "/?who=ada" }] },
  { fixture: "deno-modules", probes: [{ path: "/shout?q=hey" }, { method: "POST", path: "/count", body: "one two three" }, { path: "/nope" }] },
  { fixture: "deno-import-map", probes: [{ path: "/" }, { path: "/?name=ada" }] },
  { fixture: "deno-npm", probes: [{ path: "/" }] },
  { fixture: "workers-module", command: "serve", probes: [{ path: "/a?q=1" }, { method: "POST", path: "/b", body: "data" }] },
];

describe("Deno compatibility: the same files under real Deno and on Isle", () => {
  let stack: Stack;
  const isleBase = (name: string) => `${stack.baseUrl}/fn/compat/${name}`;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant("compat");
    for (const name of [...cases.map((c) => c.fixture), "service-worker"]) await stack.deployPublic("compat", name, fixture(name));
    await stack.deployPublic("compat", "deno-env-set", fixture("deno-env"));
    await stack.configure("compat", "deno-env-set", { env: { GREETING: "hej" } });
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
    await stack?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each(cases)("$fixture answers alike", async (run) => {
    const deno = await startDeno(run);
    for (const probe of run.probes) {
      const expected = await ask(deno, probe);
      const actual = await ask(isleBase(run.fixture), probe);
      expect(actual, `${probe.method ?? "GET"} ${probe.path}`).toEqual(expected);
    }
  });

  it("deno-env reads a set GREETING alike under Deno and on Isle", async () => {
    const deno = await startDeno({ fixture: "deno-env", env: { GREETING: "hej" }, allowEnv: ["GREETING"] });
    const expected = await ask(deno, { path: "/?who=ada" });
    expect(JSON.parse(expected.body)).toEqual({ greeting: "hej, ada", atStart: "hej", has: true });
    expect(await ask(isleBase("deno-env-set"), { path: "/?who=ada" })).toEqual(expected);
  });

  it("serves the service-worker style (Isle only: Deno has no fetch events)", async () => {
    const answer = await ask(isleBase("service-worker"), { path: "/sw?a=1" });
    expect(answer).toEqual({ status: 200, body: "service worker /sw?a=1", contentType: "text/plain;charset=UTF-8", fixture: "service-worker" });
  });

  it("refuses a remote import at deploy time, naming it and where", async () => {
    const res = await stack.deploy("compat", "remote", { "index.ts": 'import { Hono } from "https://deno.land/x/hono/mod.ts";\nDeno.serve(new Hono().fetch);' });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("build_failed");
    expect(body.error.message).toMatch(/^index\.ts:1:\d+: remote import "https:\/\/deno\.land\/x\/hono\/mod\.ts"/);
  });
});
