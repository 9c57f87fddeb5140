import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

describe("GET /v1/whoami", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    await gw.createTenant("acme");
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("names a key's tenant, id and scopes, whatever its scopes", async () => {
    const { id, key } = await gw.createKey("acme", { name: "inv", scopes: ["invoke"], functionName: "hello" });
    const res = await gw.request("/v1/whoami", {}, key);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ kind: "key", tenant: "acme", keyId: id, scopes: ["invoke"], functionName: "hello" });
  });

  it("says operator for the operator token", async () => {
    const res = await gw.operator("/v1/whoami");
    expect(await res.json()).toMatchObject({ kind: "operator", tenant: null });
  });

  it("refuses a revoked key with the usual 401", async () => {
    const { id, key } = await gw.createKey("acme", { name: "gone", scopes: ["read"] });
    expect((await gw.operator(`/v1/tenants/acme/keys/${id}`, { method: "DELETE" })).status).toBe(204);
    const res = await gw.request("/v1/whoami", {}, key);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("unauthorized");
  });
});
