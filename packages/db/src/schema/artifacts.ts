import { integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { bytea } from "./bytea.js";

/**
 * Built bundles, content-addressed by SHA-256: the same bytes deployed twice (or by two
 * tenants) are stored once, and a hash names exactly one content forever.
 */
export const artifacts = pgTable("artifacts", {
  hash: text("hash").primaryKey(),
  size: integer("size").notNull(),
  content: bytea("content").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export type Artifact = typeof artifacts.$inferSelect;
