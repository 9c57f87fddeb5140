import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drivers, openTestDatabase, type OpenTestDatabase } from "../test-support/databases.js";
import { putArtifact } from "./artifacts.js";
import { activateDeployment, createDeployment } from "./deployments.js";
import { deleteFunction, upsertFunction } from "./functions.js";
import { activateFunction, listScalingSubjects, replicaCountsChangedSince, setFunctionReplicas } from "./replicas.js";
import { createTenant, updateTenantQuotas } from "./tenants.js";

describe.each(drivers)("replica counts (%s)", (driver) => {
  let opened: OpenTestDatabase;
  beforeAll(async () => {
    opened = await openTestDatabase(driver);
  });
  afterAll(() => opened?.dispose());

  it("activates a function at zero once, and leaves a running one alone", async () => {
    const { db } = opened.database;
    const tenant = await createTenant(db, "acme");
    const fn = await upsertFunction(db, tenant.id, "api", {});
    expect(await activateFunction(db, tenant.id, fn.id)).toBe(1);
    await setFunctionReplicas(db, tenant.id, fn.id, 3);
    expect(await activateFunction(db, tenant.id, fn.id)).toBe(3);
    await setFunctionReplicas(db, tenant.id, fn.id, 0);
    expect(await activateFunction(db, tenant.id, fn.id)).toBe(1);
  });

  it("shows each change to a poller that asks for changes since its last read, zero included", async () => {
    const { db } = opened.database;
    const tenant = await createTenant(db, "poll");
    const a = await upsertFunction(db, tenant.id, "a", {});
    const b = await upsertFunction(db, tenant.id, "b", {});
    await setFunctionReplicas(db, tenant.id, a.id, 2);
    const first = await replicaCountsChangedSince(db);
    expect(first.counts).toContainEqual({ tenantId: tenant.id, functionId: a.id, replicas: 2 });

    await setFunctionReplicas(db, tenant.id, a.id, 0);
    await setFunctionReplicas(db, tenant.id, b.id, 4);
    const next = await replicaCountsChangedSince(db, first.readAt);
    expect(next.counts).toEqual(
      expect.arrayContaining([
        { tenantId: tenant.id, functionId: a.id, replicas: 0 },
        { tenantId: tenant.id, functionId: b.id, replicas: 4 },
      ]),
    );
    // An unchanged count is not written again, so it does not show as a change.
    await setFunctionReplicas(db, tenant.id, b.id, 4);
    expect((await replicaCountsChangedSince(db, next.readAt)).counts.filter((c) => c.tenantId === tenant.id)).toEqual([]);
    // With a margin, recent changes show again (a poller's guard against late commits).
    expect((await replicaCountsChangedSince(db, next.readAt, 60_000)).counts.filter((c) => c.tenantId === tenant.id)).toHaveLength(2);
  });

  it("lists functions with replicas or with load, with their settings and quotas, and forgets deleted ones", async () => {
    const { db } = opened.database;
    const tenant = await createTenant(db, "subjects");
    await updateTenantQuotas(db, tenant.id, { maxReplicas: 5 });
    const running = await upsertFunction(db, tenant.id, "running", { scale: { max: 3 } });
    const loaded = await upsertFunction(db, tenant.id, "loaded", {});
    const idle = await upsertFunction(db, tenant.id, "idle", {});
    const gone = await upsertFunction(db, tenant.id, "gone", {});
    // Kept warm from its deploy on, before any request; without a deploy a minimum means nothing yet.
    const warm = await upsertFunction(db, tenant.id, "warm", { scale: { min: 2 } });
    await upsertFunction(db, tenant.id, "undeployed", { scale: { min: 2 } });
    const artifact = Buffer.from("export default {}");
    const hash = createHash("sha256").update(artifact).digest("hex");
    await putArtifact(db, hash, artifact);
    const deployment = await createDeployment(db, { tenantId: tenant.id, functionId: warm.id, artifactHash: hash, entry: "index.js" });
    await activateDeployment(db, tenant.id, warm.id, deployment.id);
    await setFunctionReplicas(db, tenant.id, running.id, 2);
    await setFunctionReplicas(db, tenant.id, idle.id, 0);
    await setFunctionReplicas(db, tenant.id, gone.id, 1);
    await deleteFunction(db, tenant.id, "gone");

    const subjects = (await listScalingSubjects(db, [loaded.id, "fn_missing"])).filter((s) => s.tenantId === tenant.id);
    expect(subjects.map((s) => s.functionId).sort()).toEqual([loaded.id, running.id, warm.id].sort());
    expect(subjects.find((s) => s.functionId === warm.id)).toMatchObject({ deploymentId: deployment.id, artifactHash: hash });
    expect(subjects.find((s) => s.functionId === running.id)).toMatchObject({ scale: { max: 3 }, quotas: { maxReplicas: 5 } });
  });
});
