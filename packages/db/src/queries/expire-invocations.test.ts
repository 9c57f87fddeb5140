import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../client.js";
import { invocations, type NewInvocation } from "../schema/invocations.js";
import { drivers, openTestDatabase, type OpenTestDatabase } from "../test-support/databases.js";
import { deleteExpiredInvocations } from "./expire-invocations.js";
import { recordInvocations } from "./record-invocations.js";
import { createTenant } from "./tenants.js";

const hour = 3_600_000;
const now = Date.parse("2026-03-10T12:00:00Z");

describe.each(drivers)("deleteExpiredInvocations (%s)", (driver) => {
  let opened: OpenTestDatabase;
  beforeAll(async () => {
    opened = await openTestDatabase(driver);
  });
  afterAll(() => opened?.dispose());

  async function records(tenantName: string, rows: Array<[id: string, hoursAgo: number, status?: string]>) {
    const tenant = await createTenant(opened.database.db, tenantName);
    const values: NewInvocation[] = rows.map(([id, hoursAgo, status = "succeeded"]) => ({
      id,
      tenantId: tenant.id,
      functionId: "fn_1",
      mode: "async",
      status,
      startedAt: new Date(now - hoursAgo * hour),
    }));
    await recordInvocations(opened.database.db, values);
    return { tenantId: tenant.id, before: new Date(now - 24 * hour), inProgressBefore: new Date(now - 48 * hour) };
  }
  const left = async (prefix: string) =>
    (await opened.database.db.select({ id: invocations.id }).from(invocations))
      .map((r) => r.id)
      .filter((id) => id.startsWith(prefix))
      .sort();

  it("deletes the tenant's oldest expired records first, at most the limit, and none of another tenant's", async () => {
    const mine = await records("mine", [["m-40h", 40], ["m-30h", 30], ["m-50h", 50], ["m-1h", 1]]);
    await records("theirs", [["m-theirs", 60]]);
    expect(await deleteExpiredInvocations(opened.database.db, { ...mine, limit: 2 })).toBe(2);
    expect(await left("m-")).toEqual(["m-1h", "m-30h", "m-theirs"]);
    expect(await deleteExpiredInvocations(opened.database.db, { ...mine, limit: 2 })).toBe(1);
    expect(await left("m-")).toEqual(["m-1h", "m-theirs"]);
  });

  it("keeps records queued, running or retrying until they started before inProgressBefore", async () => {
    const batch = await records("async", [
      ["a-queued", 30, "queued"],
      ["a-running", 30, "running"],
      ["a-retrying", 30, "retrying"],
      ["a-dead", 30, "dead"],
      ["a-stuck", 49, "running"],
    ]);
    expect(await deleteExpiredInvocations(opened.database.db, { ...batch, limit: 100 })).toBe(2);
    expect(await left("a-")).toEqual(["a-queued", "a-retrying", "a-running"]);
  });

  it("is harmless twice at once: two connections delete each expired row once between them", async () => {
    const expired = Array.from({ length: 9 }, (_, i): [string, number] => [`r-${i}`, 25 + i]);
    const batch = await records("race", [...expired, ["r-kept", 2]]);
    const other: Database = driver === "postgres" ? await openDatabase(opened.options) : opened.database;
    try {
      const counts = await Promise.all([
        deleteExpiredInvocations(opened.database.db, { ...batch, limit: 5 }),
        deleteExpiredInvocations(other.db, { ...batch, limit: 5 }),
      ]);
      const rest = await deleteExpiredInvocations(opened.database.db, { ...batch, limit: 5 });
      expect(counts[0] + counts[1] + rest).toBe(9);
      expect(await left("r-")).toEqual(["r-kept"]);
    } finally {
      if (other !== opened.database) await other.close();
    }
  });
});
