import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../client.js";
import { createTestDatabase, drivers, type TestDatabase } from "../test-support/databases.js";
import { putArtifact } from "./artifacts.js";
import { activateDeployment, createDeployment } from "./deployments.js";
import { upsertFunction } from "./functions.js";
import { deletePreview, upsertPreview } from "./previews.js";
import { findActiveTarget, findPreviewTarget } from "./targets.js";
import { createTenant } from "./tenants.js";

describe.each(drivers)("previews (%s)", (driver) => {
  let test: TestDatabase;
  let database: Database;
  let artifactHash: string;
  beforeAll(async () => {
    test = await createTestDatabase(driver);
    database = await openDatabase(test.options);
    const content = Buffer.from("export default {}");
    artifactHash = createHash("sha256").update(content).digest("hex");
    await putArtifact(database.db, artifactHash, content);
  });
  afterAll(async () => {
    await database?.close();
    await test?.dispose();
  });

  it("serves a branch's deployment under its label beside the live one, until the branch goes", async () => {
    const { db } = database;
    const tenant = await createTenant(db, "acme");
    const fn = await upsertFunction(db, tenant.id, "api", {});
    const deploy = (branch: string) =>
      createDeployment(db, { tenantId: tenant.id, functionId: fn.id, artifactHash, entry: "index.js", source: "git", branch, commit: "c".repeat(40) });
    const live = await deploy("main");
    await activateDeployment(db, tenant.id, fn.id, live.id);
    const preview = await deploy("Feature/X");
    await upsertPreview(db, { tenantId: tenant.id, functionId: fn.id, branch: "Feature/X", label: "feature-x", deploymentId: preview.id });

    expect(await findPreviewTarget(db, "acme", "api", "feature-x")).toMatchObject({ deploymentId: preview.id, traffic: null, functionName: "api" });
    expect((await findActiveTarget(db, "acme", "api"))?.deploymentId).toBe(live.id);
    expect(await findPreviewTarget(db, "acme", "api", "other")).toBeUndefined();

    // A second push moves the preview; another branch with the same label is refused, naming the first.
    const again = await deploy("Feature/X");
    await upsertPreview(db, { tenantId: tenant.id, functionId: fn.id, branch: "Feature/X", label: "feature-x", deploymentId: again.id });
    expect((await findPreviewTarget(db, "acme", "api", "feature-x"))?.deploymentId).toBe(again.id);
    const clash = await deploy("feature-x");
    await expect(
      upsertPreview(db, { tenantId: tenant.id, functionId: fn.id, branch: "feature-x", label: "feature-x", deploymentId: clash.id }),
    ).rejects.toMatchObject({ code: "conflict", message: expect.stringContaining('"Feature/X"') });
    expect((await findPreviewTarget(db, "acme", "api", "feature-x"))?.deploymentId).toBe(again.id);

    // Another tenant neither sees nor deletes it.
    const other = await createTenant(db, "other");
    await upsertFunction(db, other.id, "api", {});
    expect(await findPreviewTarget(db, "other", "api", "feature-x")).toBeUndefined();
    expect(await deletePreview(db, other.id, fn.id, "Feature/X")).toBe(false);

    expect(await deletePreview(db, tenant.id, fn.id, "Feature/X")).toBe(true);
    expect(await findPreviewTarget(db, "acme", "api", "feature-x")).toBeUndefined();
    expect((await findActiveTarget(db, "acme", "api"))?.deploymentId).toBe(live.id);
  });
});
