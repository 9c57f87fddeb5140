import { IsleError } from "@isle/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../client.js";
import { createTestDatabase, drivers, type TestDatabase } from "../test-support/databases.js";
import { findFunction, upsertFunction } from "./functions.js";
import { createTenant, findTenantByName } from "./tenants.js";

describe.each(drivers)("tenants and functions (%s)", (driver) => {
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

  it("creates a tenant once and answers conflict for the same name", async () => {
    const tenant = await createTenant(database.db, "acme");
    expect(tenant.id).toMatch(/^ten_/);
    const err = await createTenant(database.db, "acme").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IsleError);
    expect((err as IsleError).code).toBe("conflict");
    expect(await findTenantByName(database.db, "acme")).toEqual(tenant);
    expect(await findTenantByName(database.db, "nobody")).toBeUndefined();
  });

  it("refuses names that are not DNS labels", async () => {
    for (const name of ["Acme", "-acme", "a_b", "", "x".repeat(64)]) {
      await expect(createTenant(database.db, name)).rejects.toMatchObject({ code: "validation_failed" });
    }
  });

  it("creates a function with defaults, then updates only the settings given", async () => {
    const tenant = await createTenant(database.db, "fn-owner");
    const created = await upsertFunction(database.db, tenant.id, "api", { env: { A: "1" } });
    expect(created).toMatchObject({
      name: "api",
      tenantId: tenant.id,
      runtime: "workerd",
      visibility: "private",
      env: { A: "1" },
      limits: {},
      scale: {},
      activeDeploymentId: null,
    });

    const updated = await upsertFunction(database.db, tenant.id, "api", {
      visibility: "public",
      limits: { timeoutMs: 5_000 },
    });
    expect(updated.id).toBe(created.id);
    expect(updated).toMatchObject({ visibility: "public", env: { A: "1" }, limits: { timeoutMs: 5_000 } });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    expect(await findFunction(database.db, tenant.id, "api")).toEqual(updated);
  });

  it("keeps each tenant's functions apart", async () => {
    const a = await createTenant(database.db, "scope-a");
    const b = await createTenant(database.db, "scope-b");
    const fa = await upsertFunction(database.db, a.id, "same", { visibility: "public" });
    const fb = await upsertFunction(database.db, b.id, "same", {});
    expect(fa.id).not.toBe(fb.id);
    expect(fb.visibility).toBe("private");
    expect(await findFunction(database.db, b.id, "same")).toEqual(fb);
    const c = await createTenant(database.db, "scope-c");
    expect(await findFunction(database.db, c.id, "same")).toBeUndefined();
  });
});
