import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listFunctionSecrets } from "@isle/db";
import { errorOf, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

const value = "sk_live_do-not-leak-4f1d9c";

describe("secret routes", () => {
  let gw: TestGateway;
  let tenantId: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    tenantId = (await gw.createTenant("acme")).id;
    await gw.createTenant("other");
    await gw.operator("/v1/tenants/acme/functions/api", { method: "PUT", json: {} });
    await gw.operator("/v1/tenants/other/functions/api", { method: "PUT", json: {} });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("stores the raw body sealed, lists names only, and never shows the value", async () => {
    const put = await gw.operator("/v1/tenants/acme/functions/api/secrets/STRIPE_KEY", { method: "PUT", body: value });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ name: "STRIPE_KEY", created: true });
    const again = await gw.operator("/v1/tenants/acme/functions/api/secrets/STRIPE_KEY", {
      method: "PUT",
      body: value,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(await again.json()).toEqual({ name: "STRIPE_KEY", created: false });

    const fn = (await (await gw.operator("/v1/tenants/acme/functions/api")).json()) as { id: string };
    const [row] = await listFunctionSecrets(gw.database.db, tenantId, fn.id);
    expect(row?.sealed.includes(Buffer.from(value))).toBe(false);
    expect(gw.secretBox.open(row!.sealed)).toBe(value);

    const list = await gw.operator("/v1/tenants/acme/functions/api/secrets");
    const text = await list.text();
    expect(text).not.toContain(value);
    expect((JSON.parse(text) as { secrets: Array<{ name: string }> }).secrets.map((s) => s.name)).toEqual(["STRIPE_KEY"]);
    for (const path of ["/v1/tenants/acme/functions/api", "/v1/tenants/acme/functions", "/v1/tenants/acme/functions/api/deployments"]) {
      expect(await (await gw.operator(path)).text()).not.toContain(value);
    }
  });

  it("logs each request with its route and caller, never the credential or the value", async () => {
    const admin = await gw.createKey("acme", { name: "logged", scopes: ["admin"] });
    const path = "/v1/tenants/acme/functions/api/secrets/LOGGED";
    expect((await gw.request(path, { method: "PUT", body: value, headers: { "x-api-key": admin.key } }, admin.key)).status).toBe(200);
    await gw.request(path, { method: "PUT", body: value }, `${admin.key}0`);
    const lines = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "api request", route: "/v1/tenants/:tenant/functions/:function/secrets/:name", status: 200, caller: admin.id, tenantId }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ msg: "api request", status: 401 }));
    const text = gw.logs.join("\n");
    for (const leak of [value, admin.key, admin.key.split("_").at(-1)!, "operator-token-for-route-tests"]) expect(text).not.toContain(leak);
  });

  it("refuses bad names, empty, binary and oversized values", async () => {
    const cases: Array<[string, BodyInit, number, string]> = [
      ["bad-name", "x", 400, "validation_failed"],
      ["EMPTY", "", 400, "validation_failed"],
      ["BINARY", new Uint8Array([0xff, 0xfe, 0xfd]), 400, "validation_failed"],
      ["HUGE", "x".repeat(65 * 1024), 413, "payload_too_large"],
    ];
    for (const [name, body, status, code] of cases) {
      const res = await gw.operator(`/v1/tenants/acme/functions/api/secrets/${name}`, { method: "PUT", body });
      expect(res.status, name).toBe(status);
      expect((await errorOf(res)).code).toBe(code);
    }
  });

  it("needs admin, and answers 404 for missing functions and secrets alike", async () => {
    const deployer = await gw.createKey("acme", { name: "d", scopes: ["deploy", "read"] });
    const admin = await gw.createKey("acme", { name: "a", scopes: ["admin"] });
    for (const init of [{ method: "PUT", body: "v" }, { method: "DELETE" }, {}]) {
      const path = init.method ? "/v1/tenants/acme/functions/api/secrets/X" : "/v1/tenants/acme/functions/api/secrets";
      expect((await gw.request(path, init, deployer.key)).status).toBe(403);
    }
    expect((await gw.request("/v1/tenants/acme/functions/api/secrets/X", { method: "PUT", body: "v" }, admin.key)).status).toBe(200);
    expect((await gw.request("/v1/tenants/acme/functions/api/secrets/X", { method: "DELETE" }, admin.key)).status).toBe(204);
    const gone = await gw.request("/v1/tenants/acme/functions/api/secrets/X", { method: "DELETE" }, admin.key);
    expect(await errorOf(gone)).toMatchObject({ code: "not_found", message: "secret not found" });
    const noFn = await gw.request("/v1/tenants/acme/functions/nope/secrets/X", { method: "PUT", body: "v" }, admin.key);
    expect(await errorOf(noFn)).toMatchObject({ code: "not_found", message: "function not found" });
  });
});
