import { IsleError } from "@isle/errors";
import { and, eq, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { newId } from "../ids.js";
import { previews, type Preview } from "../schema/previews.js";

export interface PreviewInput {
  tenantId: string;
  functionId: string;
  branch: string;
  label: string;
  deploymentId: string;
}

/**
 * Points a branch's preview at a deployment, creating it on the branch's first push. Throws
 * IsleError `conflict` naming the other branch when another branch of the function already
 * holds the label.
 */
export async function upsertPreview(db: IsleDb, input: PreviewInput): Promise<Preview> {
  const [row] = await db
    .insert(previews)
    .values({ id: newId("pre"), ...input })
    .onConflictDoUpdate({
      target: [previews.functionId, previews.label],
      set: { deploymentId: input.deploymentId, updatedAt: sql`now()` },
      setWhere: and(eq(previews.branch, input.branch), eq(previews.tenantId, input.tenantId)),
    })
    .returning();
  if (row) return row;
  const [holder] = await db
    .select({ branch: previews.branch })
    .from(previews)
    .where(and(eq(previews.functionId, input.functionId), eq(previews.label, input.label)));
  throw new IsleError("conflict", `branch ${JSON.stringify(holder?.branch ?? "?")} already has the preview ${input.label}; rename one of them`);
}

/** The preview of another branch that holds `label`, if any: a push that would take it is refused. */
export async function findPreviewByLabel(db: IsleDb, tenantId: string, functionId: string, label: string): Promise<Preview | undefined> {
  const [row] = await db
    .select()
    .from(previews)
    .where(and(eq(previews.tenantId, tenantId), eq(previews.functionId, functionId), eq(previews.label, label)))
    .limit(1);
  return row;
}

/** Removes a branch's preview (the branch was deleted); its deployments stay. True when there was one. */
export async function deletePreview(db: IsleDb, tenantId: string, functionId: string, branch: string): Promise<boolean> {
  const gone = await db
    .delete(previews)
    .where(and(eq(previews.tenantId, tenantId), eq(previews.functionId, functionId), eq(previews.branch, branch)))
    .returning({ id: previews.id });
  return gone.length > 0;
}
