import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../client.js";
import { newId } from "../ids.js";
import { invocations } from "../schema/invocations.js";
import { createTestDatabase, drivers, type TestDatabase } from "../test-support/databases.js";
import { createApiKey, findApiKeyById, listApiKeys, revokeApiKey } from "./api-keys.js";
import { putArtifact } from "./artifacts.js";
import { activateDeployment, createDeployment, findDeployment } from "./deployments.js";
import { countFunctions, deleteFunction, findFunction, listFunctions, setTrafficSplit, upsertFunction } from "./functions.js";
import { findInvocation, listInvocations } from "./invocations.js";
import { deleteFunctionSecret, listFunctionSecretNames, listFunctionSecrets, putFunctionSecret } from "./secrets.js";
import { createTenant, deleteTenant, findTenantById, listTenants, updateTenantQuotas } from "./tenants.js";

describe.each(drivers)("management queries (%s)", (driver) => {
  let test: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    test = await createTestDatabase(driver);
    database = await openDatabase(test.options);
  });
  afterAll(async () => {
    await database?.close();
    await test?.dispose();
  });

  it("stores keys without exposing hashes in lists, finds by id, revokes once per tenant", async () => {
    const db = database.db;
    const a = await createTenant(db, "keys-a");
    const b = await createTenant(db, "keys-b");
    const id = newId("key");
    await createApiKey(db, { id, tenantId: a.id, name: "ci", secretHash: "ab".repeat(32), scopes: ["deploy"], functionName: "api" });
    const listed = await listApiKeys(db, a.id);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id, name: "ci", scopes: ["deploy"], functionName: "api", revokedAt: null });
    expect(listed[0]).not.toHaveProperty("secretHash");
    expect(await listApiKeys(db, b.id)).toEqual([]);
    expect(await findApiKeyById(db, id)).toMatchObject({ id, tenantId: a.id, secretHash: "ab".repeat(32), expiresAt: null });

    expect(await revokeApiKey(db, b.id, id)).toBe(false);
    expect((await findApiKeyById(db, id))?.revokedAt).toBeNull();
    expect(await revokeApiKey(db, a.id, id)).toBe(true);
    const revokedAt = (await findApiKeyById(db, id))?.revokedAt;
    expect(revokedAt).toBeInstanceOf(Date);
    expect(await revokeApiKey(db, a.id, id)).toBe(true);
    expect((await findApiKeyById(db, id))?.revokedAt).toEqual(revokedAt);
    expect(await findApiKeyById(db, newId("key"))).toBeUndefined();
  });

  it("keeps sealed secrets per function and tenant", async () => {
    const db = database.db;
    const t = await createTenant(db, "secrets");
    const other = await createTenant(db, "secrets-other");
    const fn = await upsertFunction(db, t.id, "api", {});
    expect(await putFunctionSecret(db, t.id, fn.id, "TOKEN", Buffer.from([1, 2, 3]))).toBe(true);
    expect(await putFunctionSecret(db, t.id, fn.id, "TOKEN", Buffer.from([4, 5]))).toBe(false);
    await putFunctionSecret(db, t.id, fn.id, "A_KEY", Buffer.from([9]));
    expect((await listFunctionSecretNames(db, t.id, fn.id)).map((s) => s.name)).toEqual(["A_KEY", "TOKEN"]);
    expect(await listFunctionSecretNames(db, other.id, fn.id)).toEqual([]);
    const sealed = await listFunctionSecrets(db, t.id, fn.id);
    expect(sealed.map((s) => [s.name, [...s.sealed]])).toEqual([
      ["A_KEY", [9]],
      ["TOKEN", [4, 5]],
    ]);
    expect(Buffer.isBuffer(sealed[0]?.sealed)).toBe(true);
    expect(await deleteFunctionSecret(db, other.id, fn.id, "TOKEN")).toBe(false);
    expect(await deleteFunctionSecret(db, t.id, fn.id, "TOKEN")).toBe(true);
    expect(await deleteFunctionSecret(db, t.id, fn.id, "TOKEN")).toBe(false);
    expect(await deleteFunction(db, t.id, "api")).toBe(true);
    expect(await listFunctionSecrets(db, t.id, fn.id)).toEqual([]);
  });

  it("lists, counts and deletes functions within a tenant only", async () => {
    const db = database.db;
    const t = await createTenant(db, "fns");
    const other = await createTenant(db, "fns-other");
    await upsertFunction(db, t.id, "b", {});
    await upsertFunction(db, t.id, "a", {});
    await upsertFunction(db, other.id, "c", {});
    expect((await listFunctions(db, t.id)).map((f) => f.name)).toEqual(["a", "b"]);
    expect(await countFunctions(db, t.id)).toBe(2);
    expect(await deleteFunction(db, other.id, "a")).toBe(false);
    expect(await deleteFunction(db, t.id, "a")).toBe(true);
    expect(await findFunction(db, t.id, "a")).toBeUndefined();
  });

  it("splits traffic to a ready deployment of the same function, and activation ends it", async () => {
    const db = database.db;
    const content = Buffer.from("export default {}");
    const hash = createHash("sha256").update(content).digest("hex");
    await putArtifact(db, hash, content);
    const t = await createTenant(db, "traffic");
    const other = await createTenant(db, "traffic-other");
    const fn = await upsertFunction(db, t.id, "api", {});
    const deploy = () => createDeployment(db, { tenantId: t.id, functionId: fn.id, artifactHash: hash, entry: "index.js" });
    const v1 = await deploy();
    const v2 = await deploy();
    await activateDeployment(db, t.id, fn.id, v1.id);
    expect((await setTrafficSplit(db, t.id, fn.id, { deploymentId: v2.id, percent: 10 })).traffic).toEqual({ deploymentId: v2.id, percent: 10 });
    await expect(setTrafficSplit(db, other.id, fn.id, null)).rejects.toMatchObject({ code: "not_found" });
    await expect(setTrafficSplit(db, t.id, fn.id, { deploymentId: "dep_nope", percent: 5 })).rejects.toMatchObject({ code: "not_found" });
    expect(await findDeployment(db, other.id, fn.id, v2.id)).toBeUndefined();
    expect((await findDeployment(db, t.id, fn.id, v2.id))?.version).toBe(2);
    expect((await activateDeployment(db, t.id, fn.id, v2.id)).traffic).toBeNull();
    await setTrafficSplit(db, t.id, fn.id, { deploymentId: v1.id, percent: 50 });
    expect((await setTrafficSplit(db, t.id, fn.id, null)).traffic).toBeNull();
  });

  it("pages invocations newest first, filtered, within a tenant", async () => {
    const db = database.db;
    const t = await createTenant(db, "records");
    const other = await createTenant(db, "records-other");
    const base = Date.parse("2026-01-01T00:00:00Z");
    const rows = Array.from({ length: 7 }, (_, i) => ({
      id: `inv_${String(i).padStart(2, "0")}`,
      tenantId: t.id,
      functionId: i % 2 === 0 ? "fn_even" : "fn_odd",
      mode: "sync" as const,
      status: i === 3 ? "error" : "ok",
      // Two records share a start time: the id breaks the tie.
      startedAt: new Date(base + Math.min(i, 5) * 1000),
    }));
    await db.insert(invocations).values([...rows, { ...rows[0]!, id: "inv_foreign", tenantId: other.id }]);
    const seen: string[] = [];
    let after;
    do {
      const page = await listInvocations(db, t.id, { limit: 3, after });
      seen.push(...page.items.map((r) => r.id));
      after = page.next;
    } while (after);
    expect(seen).toEqual(["inv_06", "inv_05", "inv_04", "inv_03", "inv_02", "inv_01", "inv_00"]);
    expect((await listInvocations(db, t.id, { limit: 10, functionId: "fn_odd" })).items.map((r) => r.id)).toEqual(["inv_05", "inv_03", "inv_01"]);
    expect((await listInvocations(db, t.id, { limit: 10, status: "error" })).items.map((r) => r.id)).toEqual(["inv_03"]);
    // Lists stay light: a record's logs (up to 64 KiB) come only with the record itself.
    expect((await listInvocations(db, t.id, { limit: 1 })).items[0]).not.toHaveProperty("logs");
    expect(await findInvocation(db, t.id, "inv_00")).toHaveProperty("logs", []);
    expect(await findInvocation(db, t.id, "inv_foreign")).toBeUndefined();
    expect((await findInvocation(db, other.id, "inv_foreign"))?.tenantId).toBe(other.id);
  });

  it("updates quotas, lists tenants, and deletes a tenant with everything it owns", async () => {
    const db = database.db;
    const t = await createTenant(db, "doomed");
    expect((await updateTenantQuotas(db, t.id, { maxFunctions: 3, maxReplicas: 4 }))?.quotas).toEqual({ maxFunctions: 3, maxReplicas: 4 });
    expect((await updateTenantQuotas(db, t.id, { maxFunctions: null, maxConcurrency: 9 }))?.quotas).toEqual({ maxReplicas: 4, maxConcurrency: 9 });
    expect(await updateTenantQuotas(db, "ten_missing", { maxFunctions: 1 })).toBeUndefined();
    expect((await listTenants(db)).map((x) => x.name)).toContain("doomed");
    const fn = await upsertFunction(db, t.id, "api", {});
    const keyId = newId("key");
    await createApiKey(db, { id: keyId, tenantId: t.id, name: "k", secretHash: "00", scopes: ["admin"] });
    await putFunctionSecret(db, t.id, fn.id, "S", Buffer.from([1]));
    expect(await deleteTenant(db, t.id)).toBe(true);
    expect(await deleteTenant(db, t.id)).toBe(false);
    expect(await findTenantById(db, t.id)).toBeUndefined();
    expect(await findApiKeyById(db, keyId)).toBeUndefined();
    expect(await listFunctionSecrets(db, t.id, fn.id)).toEqual([]);
  });
});
