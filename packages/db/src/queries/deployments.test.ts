import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../client.js";
import type { FunctionRow } from "../schema/functions.js";
import type { Tenant } from "../schema/tenants.js";
import { createTestDatabase, drivers, type TestDatabase } from "../test-support/databases.js";
import { putArtifact } from "./artifacts.js";
import { activateDeployment, createDeployment, listDeployments } from "./deployments.js";
import { upsertFunction } from "./functions.js";
import { findActiveTarget } from "./targets.js";
import { createTenant } from "./tenants.js";

describe.each(drivers)("deployments (%s)", (driver) => {
  let test: TestDatabase;
  let database: Database;
  let artifactHash: string;
  beforeAll(async () => {
    test = await createTestDatabase(driver);
    database = await openDatabase(test.options);
    const content = Buffer.from("export default { fetch() { return new Response('hi') } }");
    artifactHash = createHash("sha256").update(content).digest("hex");
    await putArtifact(database.db, artifactHash, content);
  });
  afterAll(async () => {
    await database?.close();
    await test?.dispose();
  });

  async function setup(tenantName: string, fnName = "api"): Promise<{ tenant: Tenant; fn: FunctionRow }> {
    const tenant = await createTenant(database.db, tenantName);
    return { tenant, fn: await upsertFunction(database.db, tenant.id, fnName, {}) };
  }
  const deploy = (tenant: Tenant, fn: FunctionRow) =>
    createDeployment(database.db, { tenantId: tenant.id, functionId: fn.id, artifactHash, entry: "index.js" });

  it("numbers versions 1, 2, 3 per function", async () => {
    const { tenant, fn } = await setup("versions");
    const other = await upsertFunction(database.db, tenant.id, "other", {});
    expect((await deploy(tenant, fn)).version).toBe(1);
    expect((await deploy(tenant, fn)).version).toBe(2);
    expect((await deploy(tenant, other)).version).toBe(1);
    const third = await deploy(tenant, fn);
    expect(third).toMatchObject({ version: 3, status: "ready", source: "api", message: null, entry: "index.js" });
    expect((await listDeployments(database.db, tenant.id, fn.id)).map((d) => d.version)).toEqual([3, 2, 1]);
  });

  it("gives concurrent deploys distinct, gap-free versions", async () => {
    const { tenant, fn } = await setup("concurrent");
    const made = await Promise.all(Array.from({ length: 8 }, () => deploy(tenant, fn)));
    expect(made.map((d) => d.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("will not deploy to another tenant's function", async () => {
    const { fn } = await setup("victim");
    const { tenant: attacker } = await setup("attacker");
    await expect(deploy(attacker, fn)).rejects.toMatchObject({ code: "not_found" });
    expect(await listDeployments(database.db, attacker.id, fn.id)).toEqual([]);
  });

  it("serves the activated deployment and rolls back by moving the pointer", async () => {
    const { tenant, fn } = await setup("live");
    expect(await findActiveTarget(database.db, "live", "api")).toBeUndefined();
    const v1 = await deploy(tenant, fn);
    const v2 = await deploy(tenant, fn);
    await activateDeployment(database.db, tenant.id, fn.id, v2.id);
    expect(await findActiveTarget(database.db, "live", "api")).toEqual({
      tenantId: tenant.id,
      tenantName: "live",
      tenantQuotas: {},
      functionId: fn.id,
      functionName: "api",
      runtime: "workerd",
      visibility: "private",
      limits: {},
      env: {},
      traffic: null,
      deploymentId: v2.id,
      artifactHash,
      entry: "index.js",
      version: 2,
    });
    const rolledBack = await activateDeployment(database.db, tenant.id, fn.id, v1.id);
    expect(rolledBack.activeDeploymentId).toBe(v1.id);
    expect((await findActiveTarget(database.db, "live", "api"))?.version).toBe(1);
  });

  it("never resolves or activates across tenants", async () => {
    const { tenant: a, fn: fa } = await setup("tenant-a");
    const { tenant: b, fn: fb } = await setup("tenant-b");
    const da = await deploy(a, fa);
    await activateDeployment(database.db, a.id, fa.id, da.id);
    // Tenant b has a function of the same name with nothing live: no fallback to a's.
    expect(await findActiveTarget(database.db, "tenant-b", "api")).toBeUndefined();
    expect(await findActiveTarget(database.db, "tenant-a", "api")).toMatchObject({ tenantId: a.id });
    // b cannot point its function at a's deployment, nor act on a's function.
    await expect(activateDeployment(database.db, b.id, fb.id, da.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(activateDeployment(database.db, b.id, fa.id, da.id)).rejects.toMatchObject({ code: "not_found" });
    expect(await findActiveTarget(database.db, "tenant-b", "api")).toBeUndefined();
    expect(await findActiveTarget(database.db, "tenant-a", "missing")).toBeUndefined();
    expect(await findActiveTarget(database.db, "no-tenant", "api")).toBeUndefined();
  });

  it("only activates ready deployments", async () => {
    const { tenant, fn } = await setup("failing");
    const failed = await createDeployment(database.db, {
      tenantId: tenant.id,
      functionId: fn.id,
      artifactHash,
      entry: "index.js",
      status: "failed",
      message: "syntax error",
      source: "git",
    });
    expect(failed).toMatchObject({ status: "failed", message: "syntax error", source: "git" });
    await expect(activateDeployment(database.db, tenant.id, fn.id, failed.id)).rejects.toMatchObject({ code: "conflict" });
    expect(await findActiveTarget(database.db, "failing", "api")).toBeUndefined();
  });
});
