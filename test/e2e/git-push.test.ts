import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pidsMatching, waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

const source = (text: string) => `export default { fetch: () => new Response(${JSON.stringify(text)}) };\n`;

/** A GET with a chosen Host header (fetch will not send one). */
function getWithHost(baseUrl: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

// Deploys by `git push` with the real git client: builds streamed as remote: lines, previews per
// branch, refused pushes that leave production as it was.
describe(`git push (${process.env.DATABASE_URL ? "postgres" : "pglite"})`, () => {
  let stack: Stack;
  let work = "";
  let key = "";
  let otherKey = "";
  let readKey = "";
  let gitEnv: NodeJS.ProcessEnv = {};
  const port = () => new URL(stack.baseUrl).port;
  const remote = (credential: string | undefined, repo = "acme/hello") =>
    `http://${credential === undefined ? "" : `git:${credential}@`}127.0.0.1:${port()}/git/${repo}.git`;

  /** Runs git in the work tree; never prompts, no user or system config. */
  function git(...args: string[]): { status: number; stdout: string; stderr: string } {
    const run = spawnSync("git", args, { cwd: join(work, "repo"), env: gitEnv, encoding: "utf8", timeout: 60_000 });
    return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  }
  function commit(files: Record<string, string>, subject: string): string {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(work, "repo", path, ".."), { recursive: true });
      writeFileSync(join(work, "repo", path), text);
    }
    expect(git("add", "-A").status).toBe(0);
    expect(git("commit", "-qm", subject).status).toBe(0);
    return git("rev-parse", "HEAD").stdout.trim();
  }
  const remoteHead = (branch = "main") => git("ls-remote", remote(key), `refs/heads/${branch}`).stdout.split("\t")[0] ?? "";
  /** Half-received objects git left in the repositories (it removes them when a push fails). */
  const quarantines = () => {
    const repos = join(stack.dataDir, "git");
    return readdirSync(repos).flatMap((tenant) =>
      readdirSync(join(repos, tenant)).flatMap((repo) => {
        const objects = join(repos, tenant, repo, "objects");
        return existsSync(objects) ? readdirSync(objects).filter((name) => name.startsWith("tmp_objdir-incoming-")) : [];
      }),
    );
  };
  const invoke = async (path: string) => {
    const res = await fetch(`${stack.baseUrl}${path}`);
    return { status: res.status, body: await res.text() };
  };

  beforeAll(async () => {
    stack = await Stack.start({
      databaseUrl: process.env.DATABASE_URL,
      domain: "fn.test",
      env: { gateway: { ISLE_GIT_MAX_PACK_MB: "1" } },
    });
    await stack.createTenant("acme");
    await stack.createTenant("other");
    const mint = async (tenant: string, scopes: string[]) => {
      const res = await stack.operator(`/v1/tenants/${tenant}/keys`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "git", scopes }),
      });
      return ((await res.json()) as { key: string }).key;
    };
    key = await mint("acme", ["deploy", "read"]);
    readKey = await mint("acme", ["read"]);
    otherKey = await mint("other", ["deploy", "read"]);
    work = mkdtempSync(join(tmpdir(), "isle-e2e-git-"));
    mkdirSync(join(work, "home"));
    gitEnv = {
      PATH: process.env.PATH,
      HOME: join(work, "home"),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      GIT_AUTHOR_NAME: "Dev",
      GIT_AUTHOR_EMAIL: "dev@example.com",
      GIT_COMMITTER_NAME: "Dev",
      GIT_COMMITTER_EMAIL: "dev@example.com",
    };
    const init = spawnSync("git", ["init", "-q", "-b", "main", join(work, "repo")], { env: gitEnv });
    expect(init.status).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("deploys main on push, streaming the build and ending with the live URL, with the push's message", async () => {
    const first = commit({ "index.ts": source("v1"), "isle.json": JSON.stringify({ visibility: "public" }) }, "first version");
    const push = git("push", "-o", "message=shipped by git", remote(key), "main");
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toContain(`remote: isle: building ${first.slice(0, 12)} (main) for production`);
    expect(push.stderr).toMatch(/remote: isle: built index\.ts: \d+ bytes/);
    const live = `remote: isle: version 1 is live at ${stack.baseUrl}/fn/acme/hello/`;
    expect(push.stderr).toContain(live);
    // The URLs are the last thing the build says (git pads remote lines with spaces).
    const said = push.stderr.split("\n").filter((l) => l.startsWith("remote: isle:")).map((l) => l.trimEnd());
    expect(said.slice(-2)).toEqual([live, `remote: isle:   and at http://hello--acme.fn.test:${port()}/`]);
    expect(await invoke("/fn/acme/hello/")).toEqual({ status: 200, body: "v1" });
    expect(remoteHead()).toBe(first);

    const list = await stack.operator("/v1/tenants/acme/functions/hello/deployments");
    const { deployments } = (await list.json()) as { deployments: Array<{ source: string; message: string; active: boolean }> };
    expect(deployments[0]).toMatchObject({ source: "git", message: "shipped by git", active: true });
  });

  it("makes a preview of another branch at its own path and host, and removes it with the branch", async () => {
    expect(git("checkout", "-qb", "Feature/X").status).toBe(0);
    commit({ "index.ts": source("preview") }, "try something");
    const push = git("push", remote(key), "Feature/X");
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toContain(`remote: isle: preview of Feature/X (version 2) at ${stack.baseUrl}/fn/acme/hello@feature-x/`);
    expect(push.stderr).toContain(`remote: isle:   and at http://feature-x--hello--acme.fn.test:${port()}/`);
    expect(await invoke("/fn/acme/hello@feature-x/")).toEqual({ status: 200, body: "preview" });
    expect(await getWithHost(stack.baseUrl, "/", `feature-x--hello--acme.fn.test:${port()}`)).toEqual({ status: 200, body: "preview" });
    expect(await invoke("/fn/acme/hello/")).toEqual({ status: 200, body: "v1" });

    const removed = git("push", remote(key), ":Feature/X");
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stderr).toContain("remote: isle: the preview feature-x is removed");
    expect((await invoke("/fn/acme/hello@feature-x/")).status).toBe(404);
    expect((await getWithHost(stack.baseUrl, "/", "feature-x--hello--acme.fn.test")).status).toBe(404);
    expect(git("checkout", "-q", "main").status).toBe(0);
  });

  it("refuses a push whose build fails: the ref stays, production keeps answering", async () => {
    const before = remoteHead();
    commit({ "index.ts": "export default { fetch() { return new Response( }\n" }, "broken");
    const push = git("push", remote(key), "main");
    expect(push.status).not.toBe(0);
    expect(push.stderr).toMatch(/remote: isle: build failed: index\.ts:1:\d+: /);
    expect(push.stderr).toContain("pre-receive hook declined");
    expect(remoteHead()).toBe(before);
    expect(await invoke("/fn/acme/hello/")).toEqual({ status: 200, body: "v1" });
    expect(git("reset", "-q", "--hard", "HEAD~1").status).toBe(0);
  });

  it("refuses a symbolic link out of the repository without reading what it points at", async () => {
    const before = remoteHead();
    const secret = join(work, "outside-secret.txt");
    writeFileSync(secret, "export default { fetch: () => new Response('leaked') };\n");
    symlinkSync(secret, join(work, "repo", "index.js"));
    rmSync(join(work, "repo", "index.ts"));
    commit({}, "link out");
    const push = git("push", remote(key), "main");
    expect(push.status).not.toBe(0);
    expect(push.stderr).toContain(`remote: isle: refused: index.js: symbolic link to "${secret}" points outside the repository`);
    expect(remoteHead()).toBe(before);
    expect(await invoke("/fn/acme/hello/")).toEqual({ status: 200, body: "v1" });
    expect(git("reset", "-q", "--hard", "HEAD~1").status).toBe(0);
  });

  it("refuses a tree with a .. entry, made with git's plumbing, as it arrives", async () => {
    const before = remoteHead();
    const withInput = (input: string, ...args: string[]) => spawnSync("git", args, { cwd: join(work, "repo"), env: gitEnv, input, encoding: "utf8" }).stdout.trim();
    const blob = withInput(source("escape"), "hash-object", "-w", "--stdin");
    const mktree = (input: string) => withInput(input, "mktree");
    const inner = mktree(`100644 blob ${blob}\tindex.ts\n`);
    const tree = mktree(`040000 tree ${inner}\t..\n100644 blob ${blob}\tindex.ts\n`);
    const hostile = git("commit-tree", tree, "-p", "HEAD", "-m", "dot dot").stdout.trim();
    const push = git("push", remote(key), `${hostile}:refs/heads/main`);
    expect(push.status).not.toBe(0);
    expect(push.stderr).toMatch(/hasDotdot|fsck|unpack/i);
    expect(remoteHead()).toBe(before);
    expect(await invoke("/fn/acme/hello/")).toEqual({ status: 200, body: "v1" });
  });

  it("refuses a pack over the size limit before git reads it", async () => {
    const before = remoteHead();
    commit({ "big.bin": randomBytes(1536 * 1024).toString("base64") }, "too big");
    const push = git("push", remote(key), "main");
    expect(push.status).not.toBe(0);
    expect(push.stderr).toMatch(/413/);
    expect(remoteHead()).toBe(before);
    await waitUntil(() => pidsMatching("receive-pack --stateless-rpc").length === 0, 10_000, "git to give up the push");
    expect(quarantines()).toEqual([]);
    expect(await invoke("/fn/acme/hello/")).toEqual({ status: 200, body: "v1" });
    expect(git("reset", "-q", "--hard", "HEAD~1").status).toBe(0);
  });

  it("asks for credentials, hides other tenants' repositories and needs the deploy scope to push", async () => {
    const challenge = await fetch(`${stack.baseUrl}/git/acme/hello.git/info/refs?service=git-receive-pack`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toMatch(/^Basic realm="isle"/);
    const anonymous = git("ls-remote", remote(undefined));
    expect(anonymous.status).not.toBe(0);
    expect(anonymous.stderr).toMatch(/Authentication failed|could not read Username/);

    // Another tenant's key sees neither acme's repository nor whether it exists.
    for (const repo of ["acme/hello", "acme/missing", "nobody/hello"]) {
      const res = await fetch(`${stack.baseUrl}/git/${repo}.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Basic ${Buffer.from(`x:${otherKey}`).toString("base64")}` },
      });
      expect(res.status, repo).toBe(404);
    }
    const stranger = git("push", remote(otherKey), "main");
    expect(stranger.status).not.toBe(0);
    expect(stranger.stderr).toMatch(/not found|404/);

    // A read key may clone but not push.
    expect(git("ls-remote", remote(readKey), "refs/heads/main").stdout).toContain("refs/heads/main");
    commit({ "index.ts": source("v2") }, "v2");
    const reader = git("push", remote(readKey), "main");
    expect(reader.status).not.toBe(0);
    expect(reader.stderr).toMatch(/403/);
    expect(await invoke("/fn/acme/hello/")).toEqual({ status: 200, body: "v1" });
  });

  it("leaves nothing behind when the client dies halfway through sending its pack", async () => {
    const before = remoteHead();
    const auth = Buffer.from(`git:${key}`).toString("base64");
    const command = `${before} ${"1".repeat(40)} refs/heads/main\0 report-status\n`;
    const pktLine = `${(command.length + 4).toString(16).padStart(4, "0")}${command}0000`;
    const socket = connect(Number(port()), "127.0.0.1");
    await new Promise((done) => socket.once("connect", done));
    const chunk = (data: Buffer) => socket.write(`${data.length.toString(16)}\r\n${data.toString("latin1")}\r\n`, "latin1");
    socket.write(
      `POST /git/acme/hello.git/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${auth}\r\n` +
        "Content-Type: application/x-git-receive-pack-request\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    // The commands, then the header of a pack whose object never comes: git waits for it.
    chunk(Buffer.concat([Buffer.from(pktLine), Buffer.from("PACK\0\0\0\x02\0\0\0\x01", "latin1")]));
    // git is reading the pack when the client goes.
    await waitUntil(() => pidsMatching("receive-pack --stateless-rpc").length > 0, 10_000, "git to receive the push");
    socket.destroy();

    await waitUntil(() => pidsMatching("receive-pack --stateless-rpc").length === 0, 10_000, "git processes of the dead push to go");
    expect(quarantines()).toEqual([]);
    expect(remoteHead()).toBe(before);
    expect(await invoke("/fn/acme/hello/")).toEqual({ status: 200, body: "v1" });
  });
});
