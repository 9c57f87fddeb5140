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
 * How an async invocation's `X-Callback-Url` delivery went (ADR 0018). The URL itself is not
 * kept: its path and query may carry a token (webhook URLs often do), so only its origin is.
 */
export interface InvocationCallback {
  /** The callback URL's scheme, host and port. */
  origin: string;
  /** The attempt of the invocation whose result the callback carried. */
  attempt: number;
  /** The receiver answered 2xx. */
  delivered: boolean;
  /** The receiver's HTTP status on the last try; absent when that try got no answer. */
  status?: number;
  /** POSTs made. */
  tries: number;
  /** Why it was not delivered. */
  error?: string;
  /** ISO-8601 time the last try ended. */
  at: string;
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
    /** The latest callback's outcome, for an async invocation that asked for one. */
    callback: jsonb("callback").$type<InvocationCallback>(),
    /**
     * The W3C trace id (32 lowercase hex digits) of the traceparent the gateway sent the agent:
     * its own span's when tracing is on, else the client's when it sent one; null without either.
     */
    traceId: text("trace_id"),
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
