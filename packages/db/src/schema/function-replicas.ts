import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { functions } from "./functions.js";
import { tenants } from "./tenants.js";

/**
 * How many replicas each function has now: the scaler's decision, which every
 * gateway follows when it places requests (the function's first N agents by
 * rendezvous hash). No row means no replica: the function is scaled to zero,
 * and its next request activates it.
 */
export const functionReplicas = pgTable(
  "function_replicas",
  {
    functionId: text("function_id")
      .primaryKey()
      .references(() => functions.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    replicas: integer("replicas").notNull(),
    /** Set by the database clock on every change: gateways poll for rows changed since their last look. */
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 6 }).notNull().defaultNow(),
  },
  (t) => [index("function_replicas_updated_at").on(t.updatedAt)],
);

export type FunctionReplicasRow = typeof functionReplicas.$inferSelect;
