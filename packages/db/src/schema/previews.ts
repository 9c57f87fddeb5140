import { index, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import { deployments } from "./deployments.js";
import { functions } from "./functions.js";
import { tenants } from "./tenants.js";

/**
 * A function's preview per git branch other than its default one: the deployment the branch's
 * last push built, reached at `/fn/:tenant/:function@<label>/` and `<label>--<function>--<tenant>.<domain>`.
 * One row per label: two branches whose names map to the same label cannot both have a preview.
 */
export const previews = pgTable(
  "previews",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    functionId: text("function_id")
      .notNull()
      .references(() => functions.id, { onDelete: "cascade" }),
    /** The branch's name as git has it (`feature/Login`). */
    branch: text("branch").notNull(),
    /** Its DNS label (`feature-login`), as the routes take it. */
    label: text("label").notNull(),
    deploymentId: text("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique("previews_function_label_unique").on(t.functionId, t.label), index("previews_tenant_idx").on(t.tenantId)],
);

export type Preview = typeof previews.$inferSelect;
