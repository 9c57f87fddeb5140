import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeServer, runIsle, sendJson } from "../test-support/fake-io.js";
import { exitCodes } from "./cli-error.js";

const key = "isk_key_aaaaaaaaaaaaaaaaaaaa_0123456789abcdef0123456789abcdef0123456789abcdef";

describe("errors from the server, through the isle program", () => {
  let server: Awaited<ReturnType<typeof fakeServer>>;
  const answers: Record<string, [number, unknown]> = {
    "/v1/tenants/acme/functions/locked": [401, { error: { code: "unauthorized", message: "a valid operator token or API key is required", requestId: "req_1" } }],
    "/v1/tenants/acme/keys": [403, { error: { code: "forbidden", message: 'this key lacks the "admin" scope', requestId: "req_2" } }],
    "/v1/tenants/acme/functions/nope": [404, { error: { code: "not_found", message: "function not found", requestId: "req_3" } }],
    "/v1/tenants/acme/functions/x/deployments": [
      422,
      { error: { code: "build_failed", message: "index.ts:1:5: Unexpected end of file", requestId: "req_4", diagnostics: [{ file: "index.ts", line: 1 }] } },
    ],
    "/v1/tenants": [502, "<html>bad gateway</html>"],
  };
  beforeAll(async () => {
    server = await fakeServer((req, res) => {
      const path = (req.url ?? "").split("?")[0]!;
      const [status, body] = answers[path] ?? [200, { functions: [] }];
      if (typeof body === "string") {
        res.writeHead(status, { "content-type": "text/html" });
        res.end(body);
      } else sendJson(res, status, body);
    });
  });
  afterAll(() => server.close());
  const env = () => ({ ISLE_URL: server.url, ISLE_API_KEY: key, ISLE_TENANT: "acme" });

  it("prints the code, status, message, a hint and the request id, and exits 1", async () => {
    const ran = await runIsle(["functions", "get", "locked"], { env: env() });
    expect(ran.code).toBe(exitCodes.api);
    expect(ran.stdout).toBe("");
    expect(ran.stderr).toContain("isle: error unauthorized (401): a valid operator token or API key is required");
    expect(ran.stderr).toContain("hint: the key or token is missing, wrong, expired or revoked: run `isle login`");
    expect(ran.stderr).toContain("request id: req_1");
  });

  it("has a hint for a missing scope and for a missing resource", async () => {
    const forbidden = await runIsle(["keys", "ls"], { env: env() });
    expect(forbidden.stderr).toMatch(/forbidden \(403\).*\n.*hint: the key lacks the scope/);
    const missing = await runIsle(["functions", "get", "nope"], { env: env() });
    expect(missing.code).toBe(exitCodes.api);
    expect(missing.stderr).toMatch(/not_found \(404\): function not found\n.*hint: check the name/);
  });

  it("shows the server's extra fields, such as build diagnostics", async () => {
    const dir = (await import("../test-support/fake-io.js")).scratchDir();
    (await import("node:fs")).writeFileSync(`${dir}/index.ts`, "export default {");
    const ran = await runIsle(["deploy", dir, "--name", "x"], { env: env() });
    expect(ran.code).toBe(exitCodes.api);
    expect(ran.stderr).toContain("build_failed (422): index.ts:1:5: Unexpected end of file");
    expect(ran.stderr).toContain('diagnostics: [{"file":"index.ts","line":1}]');
    expect(ran.stdout).toBe("");
  });

  it("says so when the answer is not Isle's, exiting 4", async () => {
    const ran = await runIsle(["tenants", "ls"], { env: env() });
    expect(ran.code).toBe(exitCodes.network);
    expect(ran.stderr).toContain("HTTP 502 Bad Gateway (not an Isle error answer)");
  });

  it("exits 4 with a hint when nothing listens", async () => {
    const closed = await fakeServer(() => undefined);
    await closed.close();
    const ran = await runIsle(["functions", "ls"], { env: { ...env(), ISLE_URL: closed.url } });
    expect(ran.code).toBe(exitCodes.network);
    expect(ran.stderr).toContain(`cannot reach ${closed.url}: ECONNREFUSED\n  hint: is Isle running there?`);
  });

  it("prints each call under ISLE_DEBUG=1, never the key", async () => {
    const ran = await runIsle(["functions", "ls", "--json"], { env: { ...env(), ISLE_DEBUG: "1" } });
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain(`isle debug: → GET ${server.url}/v1/tenants/acme/functions`);
    expect(ran.stderr).toContain("isle debug:   authorization: [redacted]");
    expect(ran.stderr).toMatch(/isle debug: ← 200 OK in \d+ ms/);
    expect(ran.stderr + ran.stdout).not.toContain(key.slice(-20));
    expect(JSON.parse(ran.stdout)).toEqual({ functions: [] });
    // The key did reach the server.
    expect(server.seen.at(-1)?.headers.authorization).toBe(`Bearer ${key}`);
  });
});
