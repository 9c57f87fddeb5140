import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFunction, findTenantByName } from "@isle/db";
import type { GitRequest } from "../../git/git-service.js";
import { startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

describe("git route authorisation", () => {
  let gw: TestGateway;
  const served: GitRequest[] = [];
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    gw = await startTestGateway({
      git: {
        serve: async (req) => {
          served.push(req);
          return new Response("served");
        },
      },
    });
    await gw.createTenant("acme");
    await gw.createTenant("other");
    await gw.deploy("acme", "hello", { "index.js": "export default { fetch: () => new Response('hi') }" });
    keys.deploy = (await gw.createKey("acme", { name: "d", scopes: ["deploy"] })).key;
    keys.read = (await gw.createKey("acme", { name: "r", scopes: ["read"] })).key;
    keys.invoke = (await gw.createKey("acme", { name: "i", scopes: ["invoke"] })).key;
    keys.restricted = (await gw.createKey("acme", { name: "one", scopes: ["deploy"], functionName: "hello" })).key;
    keys.other = (await gw.createKey("other", { name: "d", scopes: ["deploy", "read"] })).key;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  /** The key with its secret's last digit changed: well formed, wrong. */
  const wrongSecret = (key: string) => `${key.slice(0, -1)}${key.endsWith("0") ? "1" : "0"}`;
  const basic = (password: string) => `Basic ${Buffer.from(`anyone:${password}`).toString("base64")}`;
  const get = (path: string, authorization?: string) => gw.app.request(path, { headers: authorization ? { authorization } : {} });
  const refs = (repo: string, service: "git-receive-pack" | "git-upload-pack") => `/git/${repo}/info/refs?service=${service}`;

  it("challenges for Basic credentials when none or bad ones are sent", async () => {
    for (const auth of [undefined, basic("isk_nope"), "Basic !!!", basic(wrongSecret(keys.deploy!))]) {
      const res = await get(refs("acme/hello.git", "git-receive-pack"), auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="isle"/);
    }
    expect(served).toHaveLength(0);
  });

  it("hides other tenants' repositories and other functions from a restricted key, as missing ones", async () => {
    const cases: Array<[string, string]> = [
      [refs("acme/hello.git", "git-upload-pack"), keys.other!],
      [refs("nobody/hello.git", "git-upload-pack"), keys.other!],
      [refs("acme/missing.git", "git-upload-pack"), keys.deploy!],
      [refs("acme/api.git", "git-receive-pack"), keys.restricted!],
      [refs("ACME/hello.git", "git-upload-pack"), keys.deploy!],
    ];
    for (const [path, key] of cases) {
      const res = await get(path, basic(key));
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    expect(served).toHaveLength(0);
  });

  it("needs deploy to push and read (or deploy) to fetch", async () => {
    expect((await get(refs("acme/hello.git", "git-receive-pack"), basic(keys.read!))).status).toBe(403);
    expect((await get(refs("acme/hello.git", "git-upload-pack"), basic(keys.invoke!))).status).toBe(403);
    expect(await (await get(refs("acme/hello.git", "git-upload-pack"), basic(keys.read!))).text()).toBe("served");
    expect(await (await get(refs("acme/hello", "git-receive-pack"), basic(keys.restricted!))).text()).toBe("served");
    expect(served.map((r) => [r.fn.name, r.action])).toEqual([
      ["hello", "info/refs"],
      ["hello", "info/refs"],
    ]);
  });

  it("serves only the smart protocol's endpoints", async () => {
    for (const path of ["/git/acme/hello.git/HEAD", "/git/acme/hello.git/objects/info/packs", "/git/acme/hello.git/info/refs", "/git/acme/hello.git/config"]) {
      expect((await get(path, basic(keys.deploy!))).status, path).toBe(404);
    }
  });

  it("creates the function on the first push, not on a fetch", async () => {
    const tenant = (await findTenantByName(gw.database.db, "acme"))!;
    expect((await get(refs("acme/fresh.git", "git-upload-pack"), basic(keys.deploy!))).status).toBe(404);
    expect(await findFunction(gw.database.db, tenant.id, "fresh")).toBeUndefined();
    expect((await get(refs("acme/fresh.git", "git-receive-pack"), basic(keys.deploy!))).status).toBe(200);
    expect(await findFunction(gw.database.db, tenant.id, "fresh")).toMatchObject({ name: "fresh", activeDeploymentId: null });
    expect(served.at(-1)).toMatchObject({ action: "info/refs", query: "service=git-receive-pack", tenant: { name: "acme" } });
  });
});
