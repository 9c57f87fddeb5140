import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant } from "./tenants.js";
import { findInvocation, listInvocations, saveInvocationCallback } from "./invocations.js";
import { appendInvocationLogs, recordInvocations } from "./record-invocations.js";
import { saveInvocation } from "./save-invocation.js";
import { openDatabase, type Database } from "../client.js";
import { createTestDatabase, drivers, type TestDatabase } from "../test-support/databases.js";

describe.each(drivers)("recordInvocations (%s)", (driver) => {
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

  it("writes every field of many records in one statement, and ignores a repeat", async () => {
    const tenant = await createTenant(database.db, "records");
    const startedAt = new Date("2026-11-22T01:02:03.456Z");
    const base = { tenantId: tenant.id, functionId: "fn_1", mode: "sync" as const, status: "succeeded", startedAt };
    await recordInvocations(database.db, [
      { ...base, id: "inv_a", deploymentId: "dep_1", agentId: "agent-1", httpStatus: 200, coldStart: true, durationMs: 12, traceId: "4bf92f3577b34da6a3ce929d0e0e4736" },
      { ...base, id: "inv_b", status: "failed", errorCode: "timeout", httpStatus: 504, attempt: 2, trigger: "timer" },
    ]);
    await recordInvocations(database.db, [{ ...base, id: "inv_a", status: "failed" }]);
    expect(await findInvocation(database.db, tenant.id, "inv_a")).toMatchObject({
      deploymentId: "dep_1",
      agentId: "agent-1",
      status: "succeeded",
      httpStatus: 200,
      coldStart: true,
      durationMs: 12,
      startedAt,
      logs: [],
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    });
    expect(await findInvocation(database.db, tenant.id, "inv_b")).toMatchObject({
      status: "failed",
      errorCode: "timeout",
      httpStatus: 504,
      attempt: 2,
      trigger: "timer",
      deploymentId: null,
      traceId: null,
    });
  });

  it("saveInvocation inserts, then overwrites with each later attempt, never with an earlier one", async () => {
    const tenant = await createTenant(database.db, "async-records");
    const base = { id: "inv_q", tenantId: tenant.id, functionId: "fn_1", mode: "async" as const, trigger: "queue", startedAt: new Date() };
    const read = () => findInvocation(database.db, tenant.id, "inv_q");
    await saveInvocation(database.db, { ...base, status: "queued", attempt: 0 });
    expect(await read()).toMatchObject({ status: "queued", attempt: 0, mode: "async" });
    await saveInvocation(database.db, { ...base, status: "running", attempt: 1, agentId: "agent-1" });
    await saveInvocation(database.db, { ...base, status: "retrying", attempt: 1, agentId: "agent-1", httpStatus: 500, durationMs: 7 });
    expect(await read()).toMatchObject({ status: "retrying", attempt: 1, httpStatus: 500, durationMs: 7 });
    await saveInvocation(database.db, { ...base, status: "succeeded", attempt: 2, httpStatus: 200, errorCode: null, traceId: "0af7651916cd43dd8448eb211c80319c" });
    // A late write of attempt 1, or the accept-time row landing late, changes nothing.
    await saveInvocation(database.db, { ...base, status: "running", attempt: 1 });
    await saveInvocation(database.db, { ...base, status: "queued", attempt: 0 });
    expect(await read()).toMatchObject({ status: "succeeded", attempt: 2, httpStatus: 200, traceId: "0af7651916cd43dd8448eb211c80319c" });
  });

  it("saveInvocation keeps the output of the attempt the row describes, and lines appended during it", async () => {
    const tenant = await createTenant(database.db, "async-logs");
    const base = { id: "inv_ql", tenantId: tenant.id, functionId: "fn_1", mode: "async" as const, trigger: "queue", startedAt: new Date() };
    const at = new Date().toISOString();
    const line = (message: string) => ({ at, level: "log", message });
    const logs = async () => (await findInvocation(database.db, tenant.id, "inv_ql"))?.logs.map((l) => l.message);
    await saveInvocation(database.db, { ...base, status: "running", attempt: 1 });
    await saveInvocation(database.db, { ...base, status: "retrying", attempt: 1, logs: [line("attempt 1")] });
    await appendInvocationLogs(database.db, [{ tenantId: tenant.id, id: "inv_ql", lines: [line("attempt 1, waitUntil")] }]);
    expect(await logs()).toEqual(["attempt 1", "attempt 1, waitUntil"]);
    await saveInvocation(database.db, { ...base, status: "running", attempt: 2 });
    expect(await logs()).toEqual([]);
    // waitUntil output that overtook its attempt's end stays, after the trailer's lines.
    await appendInvocationLogs(database.db, [{ tenantId: tenant.id, id: "inv_ql", lines: [line("attempt 2, waitUntil")] }]);
    await saveInvocation(database.db, { ...base, status: "succeeded", attempt: 2, logs: [line("attempt 2")] });
    expect(await logs()).toEqual(["attempt 2", "attempt 2, waitUntil"]);
  });

  it("saveInvocationCallback stores a callback's outcome on the tenant's record, never over a later attempt's, and the attempts' writes keep it", async () => {
    const tenant = await createTenant(database.db, "callbacks");
    const other = await createTenant(database.db, "callbacks-other");
    const base = { id: "inv_cb", tenantId: tenant.id, functionId: "fn_1", mode: "async" as const, trigger: "queue", startedAt: new Date() };
    const outcome = (attempt: number, delivered: boolean) => ({ origin: "https://hooks.example", attempt, delivered, status: delivered ? 200 : 500, tries: delivered ? 1 : 4, at: new Date().toISOString() });
    const read = async () => (await findInvocation(database.db, tenant.id, "inv_cb"))?.callback;
    await saveInvocation(database.db, { ...base, status: "dead", attempt: 3 });
    expect(await read()).toBeNull();
    expect(await saveInvocationCallback(database.db, other.id, "inv_cb", outcome(3, false))).toBe(false);
    expect(await saveInvocationCallback(database.db, tenant.id, "inv_none", outcome(3, false))).toBe(false);
    expect(await saveInvocationCallback(database.db, tenant.id, "inv_cb", outcome(3, false))).toBe(true);
    expect(await read()).toMatchObject({ attempt: 3, delivered: false, status: 500, tries: 4 });
    // Retried by the API: the new attempts' writes keep it until their own callback replaces it.
    await saveInvocation(database.db, { ...base, status: "running", attempt: 4 });
    await saveInvocation(database.db, { ...base, status: "succeeded", attempt: 4 });
    expect(await read()).toMatchObject({ attempt: 3 });
    expect(await saveInvocationCallback(database.db, tenant.id, "inv_cb", outcome(4, true))).toBe(true);
    // A slow callback of the earlier attempt, finishing last, does not hide the later one.
    expect(await saveInvocationCallback(database.db, tenant.id, "inv_cb", outcome(3, false))).toBe(false);
    expect(await read()).toMatchObject({ attempt: 4, delivered: true, status: 200 });
    const listed = await listInvocations(database.db, tenant.id, { limit: 10 });
    expect(listed.items[0]).not.toHaveProperty("callback");
  });

  it("stores hostile output as one line each, as written, and appends later lines to the record of the same tenant only", async () => {
    const tenant = await createTenant(database.db, "logs-a");
    const other = await createTenant(database.db, "logs-b");
    const startedAt = new Date("2026-11-22T01:02:03.456Z");
    const at = startedAt.toISOString();
    const hostile = 'one\ntwo\r\n\u001b[31mred\u001b[0m {"level":"error","tenant":"logs-b"} \\u0000 😀';
    await recordInvocations(database.db, [
      { id: "inv_logs", tenantId: tenant.id, functionId: "fn_1", mode: "sync", status: "failed", startedAt, logs: [{ at, level: "log", message: hostile }] },
    ]);
    expect((await findInvocation(database.db, tenant.id, "inv_logs"))?.logs).toEqual([{ at, level: "log", message: hostile }]);

    const late = [{ at, level: "exception", message: "Uncaught Error: late\n    at x.js:1:1" }];
    // The right id under the wrong tenant changes nothing; the right pair appends.
    expect(await appendInvocationLogs(database.db, [{ tenantId: other.id, id: "inv_logs", lines: late }])).toEqual([]);
    expect(await appendInvocationLogs(database.db, [{ tenantId: tenant.id, id: "inv_logs", lines: late }, { tenantId: tenant.id, id: "inv_none", lines: late }])).toEqual([
      { tenantId: tenant.id, id: "inv_logs", functionId: "fn_1", status: "failed" },
    ]);
    expect((await findInvocation(database.db, tenant.id, "inv_logs"))?.logs).toEqual([{ at, level: "log", message: hostile }, ...late]);
  });
});
