import { IsleError } from "@isle/errors";
import { and, desc, eq, exists, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { newId } from "../ids.js";
import { deployments, type Deployment, type DeploymentStatus } from "../schema/deployments.js";
import { functions, type FunctionRow } from "../schema/functions.js";
import { sqlState, sqlStateOf } from "./pg-errors.js";

/** What a new deployment needs; the id and version are assigned here. */
export interface CreateDeploymentInput {
  tenantId: string;
  functionId: string;
  artifactHash: string;
  entry: string;
  message?: string | null;
  /** `api` unless given (`git`, `cli`…). */
  source?: string;
  /** The git branch and commit it was built from (git pushes). */
  branch?: string | null;
  commit?: string | null;
  /** `ready` unless given: deploys are built before they are recorded. */
  status?: DeploymentStatus;
}

const MAX_ATTEMPTS = 5;

/**
 * Record a deployment with the function's next version (1, 2, 3…). The function row is locked
 * for the transaction so concurrent deploys of one function take turns; a unique violation on
 * (function_id, version) — possible only if something inserted without that lock — is retried.
 * Throws IsleError `not_found` when the function is not the tenant's.
 */
export async function createDeployment(db: IsleDb, input: CreateDeploymentInput): Promise<Deployment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        const [fn] = await tx
          .select({ id: functions.id })
          .from(functions)
          .where(and(eq(functions.id, input.functionId), eq(functions.tenantId, input.tenantId)))
          .for("update");
        if (!fn) throw new IsleError("not_found", "function not found");
        const [row] = await tx
          .insert(deployments)
          .values({
            id: newId("dep"),
            tenantId: input.tenantId,
            functionId: input.functionId,
            version: sql`(select coalesce(max(${deployments.version}), 0) + 1 from ${deployments} where ${deployments.functionId} = ${input.functionId})`,
            artifactHash: input.artifactHash,
            status: input.status ?? "ready",
            entry: input.entry,
            message: input.message ?? null,
            source: input.source ?? "api",
            branch: input.branch ?? null,
            commit: input.commit ?? null,
          })
          .returning();
        if (!row) throw new Error("insert into deployments returned no row");
        return row;
      });
    } catch (err) {
      if (attempt < MAX_ATTEMPTS && sqlStateOf(err) === sqlState.uniqueViolation) continue;
      throw err;
    }
  }
}

/**
 * Point the function at one of its ready deployments (deploy, rollback). Returns the updated
 * function. Throws IsleError `not_found` when the function or deployment is not the tenant's,
 * `conflict` when the deployment is not ready.
 */
export async function activateDeployment(
  db: IsleDb,
  tenantId: string,
  functionId: string,
  deploymentId: string,
): Promise<FunctionRow> {
  const ofThisFunction = and(
    eq(deployments.id, deploymentId),
    eq(deployments.functionId, functionId),
    eq(deployments.tenantId, tenantId),
  );
  const [row] = await db
    .update(functions)
    .set({
      activeDeploymentId: deploymentId,
      // Activating the split's target ends the split: it now takes every request anyway.
      traffic: sql`case when ${functions.traffic}->>'deploymentId' = ${deploymentId} then null else ${functions.traffic} end`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(functions.id, functionId),
        eq(functions.tenantId, tenantId),
        exists(
          db
            .select({ one: sql`1` })
            .from(deployments)
            .where(and(ofThisFunction, eq(deployments.status, "ready"))),
        ),
      ),
    )
    .returning();
  if (row) return row;
  // Slow path, failures only: say why.
  const [found] = await db.select({ status: deployments.status }).from(deployments).where(ofThisFunction);
  if (found) throw new IsleError("conflict", `deployment is ${found.status}; only a ready deployment can be activated`);
  throw new IsleError("not_found", "deployment not found");
}

/** The function's deployments, newest version first. */
export async function listDeployments(db: IsleDb, tenantId: string, functionId: string): Promise<Deployment[]> {
  return db
    .select()
    .from(deployments)
    .where(and(eq(deployments.tenantId, tenantId), eq(deployments.functionId, functionId)))
    .orderBy(desc(deployments.version));
}

/** One of the function's deployments, scoped by tenant and function. */
export async function findDeployment(
  db: IsleDb,
  tenantId: string,
  functionId: string,
  id: string,
): Promise<Deployment | undefined> {
  const [row] = await db
    .select()
    .from(deployments)
    .where(and(eq(deployments.id, id), eq(deployments.functionId, functionId), eq(deployments.tenantId, tenantId)))
    .limit(1);
  return row;
}
