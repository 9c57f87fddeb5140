import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliUser, type CliResult } from "../harness/cli.js";
import { pidsWithEnv, waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

const secretValue = "cli-e2e-secret-7f3a9c";

/** A failure message with everything the command printed. */
const shown = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

// The built `isle` binary, run as a user would, against the whole of Isle as real processes.
describe("isle, the CLI", () => {
  let stack: Stack;
  let user: CliUser;
  let adminKey = "";
  let url = "";
  const isle = (args: string[], options?: Parameters<CliUser["run"]>[1]) => user.run(args, options);
  const ok = async (args: string[], options?: Parameters<CliUser["run"]>[1]) => {
    const result = await isle(args, options);
    expect(result.code, `isle ${args.join(" ")}\n${shown(result)}`).toBe(0);
    return result;
  };

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL, workerdProcesses: 1 });
    user = new CliUser();
    url = stack.baseUrl;
  });
  afterAll(async () => {
    user?.remove();
    await stack?.stop();
  });

  it("logs in with the operator token from stdin, creates a tenant and its admin key, logs in with the key", async () => {
    const login = await ok(["login", url.replace("http://", ""), "--profile", "operator"], { input: `${stack.adminToken}\n` });
    expect(login.stdout).toBe("");
    expect(login.stderr).toContain("as the operator");
    expect(login.stderr).not.toContain(stack.adminToken);
    expect(statSync(user.configFile).mode & 0o777).toBe(0o600);

    expect((await ok(["-p", "operator", "tenants", "create", "acme"])).stdout).toBe("acme\n");
    const created = await ok(["-p", "operator", "--tenant", "acme", "keys", "create", "--name", "admin", "--scope", "admin"]);
    adminKey = created.stdout.trim();
    expect(adminKey).toMatch(/^isk_key_[a-z2-7]{20}_[0-9a-f]{48}$/);

    await ok(["login", url], { input: adminKey });
    const config = JSON.parse(readFileSync(user.configFile, "utf8"));
    expect(config).toMatchObject({ current: "default", profiles: { default: { url, tenant: "acme" }, operator: { tenant: null } } });
    expect((await ok(["whoami"])).stdout).toMatch(/^tenant acme, key key_\w+ \(admin\) at http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it("creates a function from a template, deploys it printing only its URL, and invokes it", async () => {
    expect((await ok(["init", "hello"])).stdout).toBe("hello\n");
    const deploy = await ok(["deploy", "hello", "-m", "first"]);
    expect(deploy.stdout).toBe(`${url}/fn/acme/hello\n`);
    expect(deploy.stderr).toMatch(/uploading acme\/hello: 3 files, [\d.]+ (B|KiB)\nbuilding acme\/hello…\ndeployed acme\/hello: version 1 /);
    expect(deploy.stderr).not.toContain("\r");

    const invoked = await ok(["invoke", "hello", "/?name=cli"]);
    expect(JSON.parse(invoked.stdout)).toEqual({ message: "Hello, cli!" });
  });

  it("queues an async invocation and shows its output in the logs", async () => {
    const queued = await ok(["invoke", "hello", "/queued", "--async", "--wait", "-d", "{}"]);
    const id = queued.stdout.trim();
    expect(id).toMatch(/^inv_\w+$/);
    expect(queued.stderr).toContain("succeeded (HTTP 200) after 1 attempt");
    await waitUntil(async () => (await isle(["logs", "hello"])).stdout.includes(`${id} log   POST /queued`), 15_000, "the async invocation's log line");
    const json = await ok(["logs", "hello", "--json"]);
    expect(json.stdout.trim().split("\n").map((line) => JSON.parse(line).invocationId)).toContain(id);
  });

  it("follows the logs live", async () => {
    const follower = user.spawn(["logs", "hello", "--follow"]);
    let out = "";
    follower.stdout?.on("data", (chunk) => (out += chunk));
    try {
      await waitUntil(() => out.includes("GET /"), 10_000, "the recent page");
      await ok(["invoke", "hello", "/live-line"]);
      await waitUntil(() => out.includes("GET /live-line"), 10_000, "the followed line");
    } finally {
      follower.kill("SIGINT");
    }
  });

  it("lists functions as JSON, sets env vars, and sets a secret from stdin without ever printing it", async () => {
    const list = JSON.parse((await ok(["functions", "ls", "--json"])).stdout) as { functions: Array<{ name: string; visibility: string }> };
    expect(list.functions).toEqual([expect.objectContaining({ name: "hello", visibility: "private" })]);

    await ok(["env", "set", "hello", "GREETING=Hi", "EXTRA=1"]);
    await ok(["env", "unset", "hello", "EXTRA"]);
    expect((await ok(["env", "ls", "hello"])).stdout).toBe("GREETING=Hi\n");
    expect(JSON.parse((await ok(["invoke", "hello"])).stdout)).toEqual({ message: "Hi, world!" });

    const secret = await ok(["secrets", "set", "hello", "TOKEN"], { input: `${secretValue}\n`, env: { ISLE_DEBUG: "1" } });
    expect(secret.stdout + secret.stderr).not.toContain(secretValue);
    expect(secret.stderr).toContain("created secret TOKEN of acme/hello");
    const names = await ok(["secrets", "ls", "hello", "--json"]);
    expect(JSON.parse(names.stdout).secrets.map((s: { name: string }) => s.name)).toEqual(["TOKEN"]);
    expect(names.stdout).not.toContain(secretValue);

    // The function sees the value that came through stdin, newline trimmed.
    writeFileSync(join(user.cwd, "hello", "index.ts"), `Deno.serve(() => new Response(String(Deno.env.get("TOKEN") === ${JSON.stringify(secretValue)})));\n`);
    await ok(["deploy", "hello", "-m", "second"]);
    expect((await ok(["invoke", "hello"])).stdout).toBe("true");
  });

  it("lists deployments and rolls back to the previous one", async () => {
    const before = JSON.parse((await ok(["deployments", "ls", "hello", "--json"])).stdout) as { deployments: Array<{ version: number; active: boolean }> };
    expect(before.deployments.map((d) => [d.version, d.active])).toEqual([
      [2, true],
      [1, false],
    ]);
    const rolled = await ok(["deployments", "rollback", "hello"]);
    expect(rolled.stderr).toContain("acme/hello now serves version 1");
    expect(JSON.parse((await ok(["invoke", "hello"])).stdout)).toEqual({ message: "Hi, world!" });
    expect((await ok(["deployments", "ls", "hello"])).stdout).toMatch(/^\*\s+1\s+dep_/m);
  });

  it("creates, lists and revokes keys; a revoked key gets the server's code, a hint and exit 1", async () => {
    const created = JSON.parse((await ok(["keys", "create", "--name", "ci", "--scope", "read", "--json"])).stdout) as { id: string; key: string };
    expect((await ok(["keys", "ls"])).stdout).toContain(created.id);
    expect((await ok(["keys", "ls"])).stdout).not.toContain(created.key.slice(-48));
    const asCi = { ISLE_URL: url, ISLE_API_KEY: created.key };
    await ok(["functions", "ls"], { env: asCi });

    const forbidden = await isle(["keys", "ls"], { env: asCi });
    expect(forbidden.code, shown(forbidden)).toBe(1);
    expect(forbidden.stderr).toContain('isle: error forbidden (403): this key lacks the "admin" scope\n  hint: the key lacks the scope');

    await ok(["keys", "revoke", created.id]);
    const refused = await isle(["functions", "ls"], { env: asCi });
    expect(refused.code, shown(refused)).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/^isle: error unauthorized \(401\): .+\n {2}hint: .*isle login.*\n {2}request id: req_\w+\n$/);
  });

  it("prints errors with the server's code, a hint and a non-zero exit; ISLE_DEBUG shows calls but not the key", async () => {
    const missing = await isle(["functions", "get", "nope"], { env: { ISLE_DEBUG: "1" } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("isle: error not_found (404): function not found\n  hint: check the name");
    expect(missing.stderr).toContain(`isle debug: → GET ${url}/v1/tenants/acme/functions/nope`);
    expect(missing.stderr).toContain("isle debug:   authorization: [redacted]");
    expect(missing.stderr).toMatch(/isle debug: ← 404 Not Found in \d+ ms/);
    expect(missing.stderr).not.toContain(adminKey.slice(-48));

    const broken = join(user.cwd, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "index.ts"), "export default { fetch() {\n");
    const build = await isle(["deploy", broken]);
    expect(build.code).toBe(1);
    expect(build.stdout).toBe("");
    expect(build.stderr).toMatch(/error build_failed \(422\): index\.ts:2:\d+: /);
  });

  it("deploys the functions of an isle.yaml, or one of them with --filter", async () => {
    const dir = join(user.cwd, "stack");
    mkdirSync(join(dir, "api"), { recursive: true });
    mkdirSync(join(dir, "jobs"), { recursive: true });
    writeFileSync(join(dir, "api", "index.ts"), "export default { fetch: (_r: Request, env: { WHO: string }) => new Response(`api:${env.WHO}`) };\n");
    writeFileSync(join(dir, "jobs", "main.js"), "Deno.serve(() => new Response('jobs'));\n");
    writeFileSync(
      join(dir, "isle.yaml"),
      "functions:\n  api:\n    visibility: public\n    env: { WHO: yaml }\n  jobs:\n    entry: main.js\n    limits: { timeoutMs: 5000 }\n" +
        "    schedules:\n      - { name: nightly, cron: '0 3 * * *', timezone: Europe/Berlin }\n",
    );
    const one = await ok(["deploy", "-f", "stack/isle.yaml", "--filter", "jobs"]);
    expect(one.stdout).toBe(`${url}/fn/acme/jobs\n`);
    expect((await ok(["functions", "ls"])).stdout).not.toMatch(/^api\s/m);

    // In the stack file's directory, `isle deploy` reads isle.yaml by itself.
    const all = await ok(["deploy"], { cwd: dir });
    expect(all.stdout).toBe(`${url}/fn/acme/api\n${url}/fn/acme/jobs\n`);
    expect(await (await fetch(`${url}/fn/acme/api`)).text()).toBe("api:yaml");
    const jobs = JSON.parse((await ok(["functions", "get", "jobs", "--json"])).stdout) as { limits: { timeoutMs: number } };
    expect(jobs.limits.timeoutMs).toBe(5000);
    const { schedules } = JSON.parse((await ok(["schedules", "ls", "jobs", "--json"])).stdout) as { schedules: Array<{ name: string; timezone: string; nextRunAt: string }> };
    expect(schedules).toEqual([expect.objectContaining({ name: "nightly", timezone: "Europe/Berlin" })]);
    expect(new Date(schedules[0]!.nextRunAt).getTime()).toBeGreaterThan(Date.now());
    await ok(["schedules", "clear", "jobs"]);
    expect(JSON.parse((await ok(["schedules", "ls", "jobs", "--json"])).stdout)).toEqual({ schedules: [] });

    writeFileSync(join(dir, "isle.yaml"), "functions:\n  api:\n    visibilty: public\n");
    const invalid = await isle(["deploy"], { cwd: dir });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("isle.yaml:3:5: functions.api.visibilty: unknown key");
  });

  it("prints the git remote of a function", async () => {
    expect((await ok(["git-remote", "hello"])).stdout).toBe(`${url}/git/acme/hello.git\n`);
  });

  it("lists agent nodes, drains one and resumes it (operator)", async () => {
    const listed = JSON.parse((await ok(["-p", "operator", "agents", "ls", "--json"])).stdout) as { agents: Array<{ id: string; healthy: boolean }> };
    expect(listed.agents).toHaveLength(1);
    const [agent] = listed.agents;
    expect(agent).toMatchObject({ healthy: true });
    expect((await ok(["-p", "operator", "agents", "drain", agent!.id])).stderr).toContain("draining");
    expect((await ok(["-p", "operator", "agents", "ls"])).stdout).toMatch(new RegExp(`${agent!.id}\\s+\\S+\\s+draining`));
    expect((await ok(["-p", "operator", "agents", "resume", agent!.id])).stderr).toContain("back in placement");
    // The agent reports itself in service again at its next heartbeat; the function serves.
    await waitUntil(async () => (await isle(["invoke", "hello"])).code === 0, 5_000, "the node to serve again");
    // A tenant key is not the operator.
    expect((await isle(["agents", "ls"])).code).not.toBe(0);
  });

  it("redeploys on save with isle dev --remote, and stops on Ctrl-C", async () => {
    await ok(["init", "live", "--template", "workers"]);
    const dev = user.spawn(["dev", "live", "--remote"]);
    let out = "";
    let err = "";
    dev.stdout?.on("data", (chunk) => (out += chunk));
    dev.stderr?.on("data", (chunk) => (err += chunk));
    const exited = new Promise<number | null>((done) => dev.on("exit", (code) => done(code)));
    try {
      await waitUntil(() => err.includes("watching"), 15_000, `isle dev to deploy and watch\n${err}`);
      expect(out).toBe(`${url}/fn/acme/live\n`);
      expect(JSON.parse((await ok(["invoke", "live"])).stdout)).toEqual({ message: "Hello, world!" });
      writeFileSync(join(user.cwd, "live", "index.ts"), 'export default { fetch: () => Response.json({ message: "saved" }) };\n');
      await waitUntil(() => /deployed acme\/live: version 2 /.test(err), 15_000, `a redeploy after the save\n${err}`);
      expect(JSON.parse((await ok(["invoke", "live"])).stdout)).toEqual({ message: "saved" });
    } finally {
      dev.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  });
});

describe("isle dev, on a local Isle of its own", () => {
  let user: CliUser;
  beforeAll(() => {
    user = new CliUser();
  });
  afterAll(() => {
    user?.remove();
  });

  it("serves the function on the production runtime, redeploys on save, and Ctrl-C leaves no process or data", async () => {
    expect((await user.run(["init", "local", "--template", "deno"])).code).toBe(0);
    // Every process of the local Isle inherits this TMPDIR, and keeps its data under it.
    const tmp = join(user.home, "tmp");
    mkdirSync(tmp);
    const dev = user.spawn(["dev", "local"], { env: { TMPDIR: tmp } });
    let out = "";
    let err = "";
    dev.stdout?.on("data", (chunk) => (out += chunk));
    dev.stderr?.on("data", (chunk) => (err += chunk));
    const exited = new Promise<number | null>((done) => dev.on("exit", (code) => done(code)));
    try {
      await waitUntil(() => err.includes("watching"), 90_000, `isle dev to start Isle, deploy and watch\n${err}`);
      const url = out.trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fn\/dev\/local$/);
      // start.mjs's parts and workerd: the same processes as production.
      expect(pidsWithEnv("TMPDIR", tmp).length).toBeGreaterThanOrEqual(5);
      const first = await fetch(url);
      expect(first.status).toBe(200);
      const before = await first.text();
      writeFileSync(join(user.cwd, "local", "index.ts"), 'Deno.serve(() => new Response("saved locally"));\n');
      await waitUntil(async () => (await (await fetch(url)).text()) === "saved locally", 20_000, `the saved version to answer\n${err}`);
      expect(before).not.toBe("saved locally");
    } finally {
      dev.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    await waitUntil(() => pidsWithEnv("TMPDIR", tmp).length === 0, 10_000, "the local Isle's processes to exit");
    expect(readdirSync(tmp)).toEqual([]);
  });
});
