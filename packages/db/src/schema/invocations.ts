import { boolean, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { tenants } from "./tenants.js";

/** How the caller waits: `sync` holds the request, `async` got a 202. */
export type InvocationMode = "sync" | "async";

/** One line a function logged during an invocation. */
export interface InvocationLogLine {
  /** ISO-8601 time of the line. */
  at: string;
  level: string;
  message: string;
}

/**
 * One record per invocation attempt chain, sync or async. Function, deployment and agent ids
 * are plain text, not foreign keys: records outlive the rows they mention (retention is
 * separate), and the write must not fail on the hot path because a function was just deleted.
 */
export const invocations = pgTable(
  "invocations",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    functionId: text("function_id").notNull(),
    deploymentId: text("deployment_id"),
    agentId: text("agent_id"),
    mode: text("mode").$type<InvocationMode>().notNull(),
    trigger: text("trigger").notNull().default("http"),
    status: text("status").notNull(),
    httpStatus: integer("http_status"),
    attempt: integer("attempt").notNull().default(1),
    coldStart: boolean("cold_start").notNull().default(false),
    errorCode: text("error_code"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    durationMs: integer("duration_ms"),
    logs: jsonb("logs").$type<InvocationLogLine[]>().notNull().default([]),
  },
  (t) => [
    // The tenant's invocation list, newest first.
    index("invocations_tenant_started_idx").on(t.tenantId, t.startedAt.desc()),
    // The same list filtered by function.
    index("invocations_tenant_function_started_idx").on(t.tenantId, t.functionId, t.startedAt),
  ],
);

export type Invocation = typeof invocations.$inferSelect;
export type NewInvocation = typeof invocations.$inferInsert;
