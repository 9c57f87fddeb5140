import { sql } from "drizzle-orm";
import { check, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Per-tenant ceilings; a missing field means the platform default. */
export interface TenantQuotas {
  maxFunctions?: number;
  maxReplicas?: number;
  maxConcurrency?: number;
  /** Invokes per second, sustained, across the tenant (the gateway's tenant bucket). */
  ratePerSecond?: number;
  /** Invokes admitted at once from an idle tenant bucket. */
  rateBurst?: number;
  /** Invokes per second, sustained, for each of the tenant's API keys. */
  keyRatePerSecond?: number;
  /** Invokes admitted at once from an idle key bucket. */
  keyRateBurst?: number;
  /** Hours the tenant's invocation records are kept; 0 keeps them forever. */
  recordRetentionHours?: number;
}

/** A tenant: the unit of isolation. Every other tenant-owned row points here and dies with it. */
export const tenants = pgTable(
  "tenants",
  {
    id: text("id").primaryKey(),
    /** A DNS label: it appears in URLs and host names. */
    name: text("name").notNull().unique(),
    quotas: jsonb("quotas").$type<TenantQuotas>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check("tenants_name_dns_label", sql`${t.name} ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'`)],
);

export type Tenant = typeof tenants.$inferSelect;
export type NewTenant = typeof tenants.$inferInsert;
