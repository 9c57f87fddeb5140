import { index, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import { bytea } from "./bytea.js";
import { functions } from "./functions.js";
import { tenants } from "./tenants.js";

/**
 * A function's secrets, sealed by the gateway (AES-256-GCM) before they reach this table: the
 * database never sees a value in the clear, so a dump or a replica does not leak them.
 */
export const functionSecrets = pgTable(
  "function_secrets",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    functionId: text("function_id")
      .notNull()
      .references(() => functions.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** Nonce, ciphertext and tag as the gateway's SecretBox lays them out. */
    sealed: bytea("sealed").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("function_secrets_function_name_unique").on(t.functionId, t.name),
    index("function_secrets_tenant_idx").on(t.tenantId),
  ],
);

export type FunctionSecret = typeof functionSecrets.$inferSelect;
