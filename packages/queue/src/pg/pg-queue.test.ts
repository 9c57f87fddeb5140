import { openDatabase, type Database } from "@isle/db";
import { drivers, openTestDatabase, type OpenTestDatabase } from "@isle/db/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { describeQueueContract, testId } from "../test-support/contract.js";
import { PgQueue } from "./pg-queue.js";

describe.each(drivers)("PgQueue (%s)", (driver) => {
  let opened: OpenTestDatabase;
  beforeAll(async () => {
    opened = await openTestDatabase(driver);
  });
  afterAll(() => opened?.dispose());

  describeQueueContract(driver, () => ({
    open: (options) => new PgQueue({ database: opened.database, pollIntervalMs: 100, ...options }),
    restart: () => opened.reopen(),
    // Each queue name is new; its rows go with the test database.
    async cleanup() {},
  }));
});

describe("PgQueue on Postgres across processes", () => {
  let opened: OpenTestDatabase;
  let other: Database | undefined;
  beforeAll(async () => {
    opened = await openTestDatabase("postgres");
  });
  afterAll(async () => {
    await other?.close();
    await opened?.dispose();
  });

  it("wakes a consumer on another connection pool by NOTIFY, long before its next poll", async () => {
    other = await openDatabase(opened.options);
    const producer = new PgQueue({ database: opened.database, name: "notify" });
    const consumer = new PgQueue({ database: other, name: "notify", pollIntervalMs: 60_000 });
    const seen: string[] = [];
    const running = consumer.consume(async (d) => {
      seen.push(d.id);
    });
    try {
      // Give the consumer time to find the queue empty and settle into its minute-long wait.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const id = testId("inv");
      await producer.enqueue({ id, tenantId: "ten_a", functionId: "fn_1", payload: {} });
      await vi.waitFor(() => expect(seen).toEqual([id]), { timeout: 10_000, interval: 25 });
    } finally {
      await running.stop();
    }
  });
});
