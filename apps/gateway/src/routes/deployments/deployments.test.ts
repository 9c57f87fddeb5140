import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findActiveTarget, getArtifact } from "@isle/db";
import { decodeContainerArtifact } from "@isle/proto";
import { tarGz } from "../../test-support/tar-gz.js";
import { errorOf, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

const source = (text: string) => `export default { fetch: () => new Response(${JSON.stringify(text)}) }`;
type DeploymentBody = { id: string; version: number; status: string; active: boolean; trafficPercent: number; message: string | null; entry: string };

describe("deployment and traffic routes", () => {
  let gw: TestGateway;
  const versions: DeploymentBody[] = [];
  beforeAll(async () => {
    gw = await startTestGateway({ maxUploadBytes: 64 * 1024 });
    await gw.createTenant("acme");
    await gw.createTenant("other");
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const upload = (body: Uint8Array<ArrayBuffer>, query = "", type = "application/gzip", tenant = "acme") =>
    gw.operator(`/v1/tenants/${tenant}/functions/api/deployments${query}`, { method: "POST", body, headers: { "content-type": type } });

  it("deploys multipart with entry and message, as { id, version, status } once active", async () => {
    const form = new FormData();
    form.append("file", new Blob([source("v1")]), "src/app.js");
    form.append("entry", "src/app.js");
    form.append("message", "first");
    const res = await gw.operator("/v1/tenants/acme/functions/api/deployments", { method: "POST", body: form });
    expect(res.status).toBe(201);
    const body = (await res.json()) as DeploymentBody;
    expect(body).toMatchObject({ id: expect.stringMatching(/^dep_/), version: 1, status: "ready" });
    expect((await findActiveTarget(gw.database.db, "acme", "api"))?.deploymentId).toBe(body.id);
  });

  it("deploys a tar.gz of the directory, entry and message from the query", async () => {
    const res = await upload(tarGz({ "main.ts": source("v2"), "lib/util.ts": "export const x = 1;" }), "?message=from%20tar");
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as DeploymentBody).version).toBe(2);
    const named = await upload(tarGz({ "handler.js": source("v3") }), "?entry=handler.js");
    expect(named.status).toBe(201);
  });

  it("packs a container function's directory as it is, by its isle.json or the function's runtime setting", async () => {
    const res = await gw.operator("/v1/tenants/acme/functions/py/deployments", {
      method: "POST",
      body: tarGz({ "handler.py": "def handle(request):\n    return 'hi'\n", "isle.json": JSON.stringify({ runtime: "container" }) }),
      headers: { "content-type": "application/gzip" },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { artifactHash } = (await res.json()) as { artifactHash: string };
    const bytes = await getArtifact(gw.database.db, artifactHash);
    expect(decodeContainerArtifact(bytes!)).toMatchObject({ rootfs: "python3", entry: "handler.py" });
    // The setting stays: the next upload without isle.json is packed for a container too, not bundled.
    const again = await gw.operator("/v1/tenants/acme/functions/py/deployments", {
      method: "POST",
      body: tarGz({ handler: "#!/bin/sh\necho hi\n" }),
      headers: { "content-type": "application/gzip" },
    });
    expect(again.status, await again.clone().text()).toBe(201);
    const exec = decodeContainerArtifact((await getArtifact(gw.database.db, ((await again.json()) as { artifactHash: string }).artifactHash))!);
    expect(exec).toMatchObject({ rootfs: "exec", entry: "handler" });
    expect(exec.files.find((f) => f.path === "handler")?.mode).toBe(0o755);
  });

  it("refuses broken archives, wrong types and oversized uploads in the error shape", async () => {
    const cases: Array<[Response, number, string]> = [
      [await upload(new Uint8Array([1, 2, 3])), 400, "bad_request"],
      [await upload(tarGz({ "readme.md": "no code" })), 400, "validation_failed"],
      [await upload(tarGz({ "index.js": "export default {" })), 422, "build_failed"],
      [await upload(new TextEncoder().encode("{}"), "", "application/json"), 400, "bad_request"],
      [await upload(new Uint8Array(70 * 1024)), 413, "payload_too_large"],
    ];
    for (const [res, status, code] of cases) {
      expect(res.status).toBe(status);
      expect((await errorOf(res)).code).toBe(code);
    }
  });

  it("lists versions newest first with source, message, entry and the active flag; gets one", async () => {
    const res = await gw.operator("/v1/tenants/acme/functions/api/deployments");
    const { deployments } = (await res.json()) as { deployments: DeploymentBody[] };
    versions.push(...deployments);
    expect(deployments.map((d) => [d.version, d.active, d.entry, d.message])).toEqual([
      [3, true, "handler.js", null],
      [2, false, "main.ts", "from tar"],
      [1, false, "src/app.js", "first"],
    ]);
    expect(deployments[0]).toMatchObject({ source: "api", trafficPercent: 100 });
    const one = await gw.operator(`/v1/tenants/acme/functions/api/deployments/${deployments[2]!.id}`);
    expect(await one.json()).toMatchObject({ version: 1, active: false });
  });

  it("rolls back by activating an older version", async () => {
    const v1 = versions.find((d) => d.version === 1)!;
    const res = await gw.operator(`/v1/tenants/acme/functions/api/deployments/${v1.id}/activate`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: v1.id, active: true });
    expect((await findActiveTarget(gw.database.db, "acme", "api"))?.version).toBe(1);
  });

  it("splits traffic to another version, and removes the split", async () => {
    const v2 = versions.find((d) => d.version === 2)!;
    const put = await gw.operator("/v1/tenants/acme/functions/api/traffic", { method: "PUT", json: { deploymentId: v2.id, percent: 10 } });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { traffic: unknown }).traffic).toEqual({ deploymentId: v2.id, percent: 10 });
    const listed = (await (await gw.operator("/v1/tenants/acme/functions/api/deployments")).json()) as { deployments: DeploymentBody[] };
    expect(listed.deployments.map((d) => [d.version, d.trafficPercent])).toEqual([
      [3, 0],
      [2, 10],
      [1, 90],
    ]);
    for (const percent of [0, 100, 50.5]) {
      const bad = await gw.operator("/v1/tenants/acme/functions/api/traffic", { method: "PUT", json: { deploymentId: v2.id, percent } });
      expect(bad.status).toBe(400);
      expect((await errorOf(bad)).message).toMatch(/^percent/);
    }
    const del = await gw.operator("/v1/tenants/acme/functions/api/traffic", { method: "DELETE" });
    expect(((await del.json()) as { traffic: unknown }).traffic).toBeNull();
  });

  it("answers 404 for another tenant's deployment ids, as for missing ones, by every route", async () => {
    const form = new FormData();
    form.append("file", new Blob([source("theirs")]), "index.js");
    const theirs = (await (await gw.operator("/v1/tenants/other/functions/api/deployments", { method: "POST", body: form })).json()) as { id: string };
    for (const id of [theirs.id, "dep_missingmissingmiss"]) {
      const attempts = [
        gw.operator(`/v1/tenants/acme/functions/api/deployments/${id}`),
        gw.operator(`/v1/tenants/acme/functions/api/deployments/${id}/activate`, { method: "POST" }),
        gw.operator("/v1/tenants/acme/functions/api/traffic", { method: "PUT", json: { deploymentId: id, percent: 5 } }),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status).toBe(404);
        expect(await errorOf(res)).toMatchObject({ code: "not_found", message: "deployment not found" });
      }
    }
    expect((await findActiveTarget(gw.database.db, "acme", "api"))?.version).toBe(1);
  });

  it("lets a deploy key deploy and a read key only look", async () => {
    const deployer = await gw.createKey("acme", { name: "ci", scopes: ["deploy"] });
    const reader = await gw.createKey("acme", { name: "r", scopes: ["read"] });
    expect((await gw.deploy("acme", "api", { "index.js": source("ci") }, deployer.key)).status).toBe(201);
    expect((await gw.deploy("acme", "api", { "index.js": source("no") }, reader.key)).status).toBe(403);
    expect((await gw.request("/v1/tenants/acme/functions/api/deployments", {}, reader.key)).status).toBe(200);
  });

  it("takes the entry and settings from the upload's isle.json, and refuses a bad one naming the key", async () => {
    const config = JSON.stringify({
      entry: "src/handler.js",
      visibility: "public",
      limits: { timeoutMs: 4000 },
      schedules: [{ name: "nightly", cron: "0 3 * * *", path: "/jobs" }],
    });
    const res = await upload(tarGz({ "isle.json": config, "src/handler.js": source("configured") }), "", "application/gzip", "other");
    expect(res.status, await res.clone().text()).toBe(201);
    const target = await findActiveTarget(gw.database.db, "other", "api");
    expect(target).toMatchObject({ entry: "src/handler.js", visibility: "public", limits: { timeoutMs: 4000 } });
    const listed = (await (await gw.operator("/v1/tenants/other/functions/api/schedules")).json()) as { schedules: Array<{ name: string; path: string }> };
    expect(listed.schedules).toMatchObject([{ name: "nightly", path: "/jobs" }]);
    // A schedule more often than the platform allows is refused before anything is built.
    const often = await upload(
      tarGz({ "isle.json": JSON.stringify({ schedules: [{ name: "often", cron: "* * * * * *" }] }), "index.js": source("often") }),
      "",
      "application/gzip",
      "other",
    );
    expect((await errorOf(often)).message).toMatch(/^isle\.json: schedules\.0\.cron: /);

    const bad = await upload(tarGz({ "isle.toml": "[limits]\ntimeoutMs = 1", "index.js": source("bad") }), "", "application/gzip", "other");
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/^isle\.toml: limits\.timeoutMs: /);
    const needsEnv = await upload(tarGz({ "isle.json": JSON.stringify({ env: ["API_TOKEN"] }), "index.js": source("env") }), "", "application/gzip", "other");
    expect((await errorOf(needsEnv)).message).toMatch(/^isle\.json: env: API_TOKEN is not set/);
    expect((await findActiveTarget(gw.database.db, "other", "api"))?.deploymentId).toBe(target?.deploymentId);
  });
});
