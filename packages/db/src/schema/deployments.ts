import { index, integer, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import { artifacts } from "./artifacts.js";
import { functions } from "./functions.js";
import { tenants } from "./tenants.js";

/** Where a deployment is in its life; only `ready` ones may be activated. */
export type DeploymentStatus = "ready" | "failed" | "building";

/** Immutable versions of a function; the function's pointer picks the live one. */
export const deployments = pgTable(
  "deployments",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    functionId: text("function_id")
      .notNull()
      .references(() => functions.id, { onDelete: "cascade" }),
    /** 1, 2, 3… per function, assigned by createDeployment. */
    version: integer("version").notNull(),
    // No cascade: an artifact still named by a deployment must not disappear.
    artifactHash: text("artifact_hash")
      .notNull()
      .references(() => artifacts.hash),
    status: text("status").$type<DeploymentStatus>().notNull(),
    /** The bundle's entry module. */
    entry: text("entry").notNull(),
    message: text("message"),
    /** Where it came from: `api`, `git`, `cli`… */
    source: text("source").notNull().default("api"),
    /** The git branch it was pushed from; null for uploads. */
    branch: text("branch"),
    /** The git commit it was built from; null for uploads. */
    commit: text("commit"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("deployments_function_version_unique").on(t.functionId, t.version),
    index("deployments_tenant_idx").on(t.tenantId),
  ],
);

export type Deployment = typeof deployments.$inferSelect;
export type NewDeployment = typeof deployments.$inferInsert;
