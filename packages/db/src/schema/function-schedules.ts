import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import { functions } from "./functions.js";
import { tenants } from "./tenants.js";

/**
 * A function's cron schedules (ADR 0019). Every gateway's scheduler claims the due rows
 * (`next_run_at` passed, no live claim) with `FOR UPDATE SKIP LOCKED`, enqueues one async
 * invocation per tick and moves `next_run_at` on. A claim lasts until `claimed_until`; the
 * `claims` count is its token, so a scheduler whose claim expired (it died, or stalled) cannot
 * move the row on after another has claimed it. Dies with its function and tenant.
 */
export const functionSchedules = pgTable(
  "function_schedules",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    functionId: text("function_id")
      .notNull()
      .references(() => functions.id, { onDelete: "cascade" }),
    /** A DNS label, unique within the function; the function sees it as `x-isle-schedule`. */
    name: text("name").notNull(),
    cron: text("cron").notNull(),
    timezone: text("timezone").notNull().default("UTC"),
    method: text("method").notNull().default("POST"),
    /** Path and query the function sees. */
    path: text("path").notNull().default("/"),
    headers: jsonb("headers").$type<Record<string, string>>().notNull().default({}),
    /** Null: no body. */
    body: text("body"),
    enabled: boolean("enabled").notNull().default(true),
    /** The next tick; null while disabled, or when the expression never runs again. */
    nextRunAt: timestamp("next_run_at", { withTimezone: true }),
    /** The last tick enqueued, and its invocation. */
    lastRunAt: timestamp("last_run_at", { withTimezone: true }),
    lastInvocationId: text("last_invocation_id"),
    /** The current claim's end; a claim past it may be taken over. */
    claimedUntil: timestamp("claimed_until", { withTimezone: true }),
    /** Claims so far: the current claim's token. */
    claims: integer("claims").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("function_schedules_function_name_unique").on(t.functionId, t.name),
    index("function_schedules_tenant_idx").on(t.tenantId),
    // The schedulers' claim: the earliest ticks first, among schedules that have one.
    index("function_schedules_due_idx")
      .on(t.nextRunAt)
      .where(sql`${t.nextRunAt} is not null`),
  ],
);

export type FunctionScheduleRow = typeof functionSchedules.$inferSelect;
