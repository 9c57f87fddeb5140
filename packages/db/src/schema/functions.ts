import { sql } from "drizzle-orm";
import { check, jsonb, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import { tenants } from "./tenants.js";

/** How a function runs: a V8 isolate in workerd, or an OCI container. */
export type FunctionRuntime = "workerd" | "container";
/** `private` needs an API key with `invoke` scope; `public` needs none. */
export type FunctionVisibility = "private" | "public";

/** Per-function limits; a missing field means the platform default (the gateway's invoke/limits.ts). */
export interface FunctionLimits {
  timeoutMs?: number;
  cpuMs?: number;
  memoryMb?: number;
  maxRequestBytes?: number;
  /** 0: no cap. */
  maxResponseBytes?: number;
  subrequests?: number;
  /** Invocations running at once per agent; more are refused with 429. */
  concurrency?: number;
}

/** Scaling settings read by the scaler; a missing field means the platform default. */
export interface FunctionScale {
  min?: number;
  max?: number;
  targetConcurrency?: number;
  idleSeconds?: number;
}

/** A share of requests sent to a deployment other than the active one (canary, blue/green). */
export interface TrafficSplit {
  deploymentId: string;
  /** 1–99: that percentage of requests goes to `deploymentId`, the rest to the active one. */
  percent: number;
}

/** A function: named per tenant, pointing at the deployment that serves it. */
export const functions = pgTable(
  "functions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    runtime: text("runtime").$type<FunctionRuntime>().notNull().default("workerd"),
    visibility: text("visibility").$type<FunctionVisibility>().notNull().default("private"),
    env: jsonb("env").$type<Record<string, string>>().notNull().default({}),
    limits: jsonb("limits").$type<FunctionLimits>().notNull().default({}),
    scale: jsonb("scale").$type<FunctionScale>().notNull().default({}),
    // No foreign key: functions and deployments would reference each other. activateDeployment
    // only ever points it at a ready deployment of the same function and tenant.
    activeDeploymentId: text("active_deployment_id"),
    /** Null: every request goes to the active deployment. */
    traffic: jsonb("traffic").$type<TrafficSplit>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("functions_tenant_name_unique").on(t.tenantId, t.name),
    check("functions_name_dns_label", sql`${t.name} ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'`),
  ],
);

export type FunctionRow = typeof functions.$inferSelect;
export type NewFunctionRow = typeof functions.$inferInsert;
