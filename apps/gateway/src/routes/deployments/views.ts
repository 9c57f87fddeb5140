import { z } from "@hono/zod-openapi";
import type { Deployment, FunctionRow } from "@isle/db";
import { functionParams } from "../api.js";

export const deploymentParams = functionParams.extend({
  id: z.string().max(64).openapi({ param: { name: "id", in: "path" }, example: "dep_abcdefghijklmnopqrst" }),
});

export const deploymentSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    status: z.string(),
    source: z.string(),
    message: z.string().nullable(),
    /** The git branch and commit of a pushed version; null for uploads. */
    branch: z.string().nullable(),
    commit: z.string().nullable(),
    entry: z.string(),
    artifactHash: z.string(),
    createdAt: z.string(),
    active: z.boolean(),
    /** Percentage of requests this version takes under a traffic split, else 0 (or 100 when active). */
    trafficPercent: z.number().int(),
  })
  .openapi("Deployment");

/** A deployment as the API shows it, with whether (and how much) it serves. */
export function deploymentView(d: Deployment, fn: FunctionRow) {
  const active = fn.activeDeploymentId === d.id;
  const split = fn.traffic;
  const trafficPercent = split?.deploymentId === d.id ? split.percent : active ? 100 - (split?.percent ?? 0) : 0;
  return {
    id: d.id,
    version: d.version,
    status: d.status,
    source: d.source,
    message: d.message,
    branch: d.branch,
    commit: d.commit,
    entry: d.entry,
    artifactHash: d.artifactHash,
    createdAt: d.createdAt.toISOString(),
    active,
    trafficPercent,
  };
}
