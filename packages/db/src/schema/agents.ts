import { integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Nodes that run functions. Not tenant data: every gateway sees every agent. */
export const agents = pgTable("agents", {
  id: text("id").primaryKey(),
  /** Where the gateway reaches the agent's sidecar, `host:port`. */
  address: text("address").notNull(),
  /** How many replicas the agent offers. */
  capacity: integer("capacity").notNull(),
  status: text("status").notNull(),
  /** Heartbeat time; three missed seconds take the agent out of placement. */
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
  registeredAt: timestamp("registered_at", { withTimezone: true }).notNull().defaultNow(),
});

export type Agent = typeof agents.$inferSelect;
export type NewAgent = typeof agents.$inferInsert;
