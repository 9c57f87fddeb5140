import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiKeyVerifier } from "../auth/api-keys.js";
import { dnsLabelPattern, type IsleDb } from "@isle/db";
import { IsleError, errorStatus } from "@isle/errors";
import type { InvocationQueue } from "@isle/queue";
import type { ZodError } from "zod";
import type { GatewayEnv } from "../env.js";
import type { TargetResolver } from "../invoke/target-resolver.js";
import type { LogFeed } from "../logs/log-feed.js";
import type { SecretBox } from "../secrets/secret-box.js";
import type { DeployLimits } from "./deployments/create.js";
import type { Membership } from "../control/membership.js";

/** The gateway's app: a Hono app that also collects the OpenAPI document of its /v1 routes. */
export type ApiApp = OpenAPIHono<GatewayEnv>;

/** What management routes need, injected once by createApp. */
export interface ApiDeps {
  db: IsleDb;
  resolver: TargetResolver;
  verifier: ApiKeyVerifier;
  secretBox: SecretBox;
  limits: DeployLimits;
  /** The async invocation queue (its dead letters); routes that need it answer 503 without. */
  queue?: InvocationQueue | undefined;
  /** Each recorded invocation's lines, for followers of live logs. */
  logFeed: LogFeed;
  /** ISLE_SCHEDULE_MIN_INTERVAL_S: how often a function's schedule may run at most. */
  schedules: { minIntervalSeconds: number };
  /** The agents connected to this gateway: listed and drained by the operator. */
  membership: Membership;
}

/**
 * Turns a failed zod validation (params, query, body) into the one error shape:
 * `validation_failed` naming the field, or the unknown fields of a strict object.
 */
export function validationHook(result: { success: boolean; error?: unknown }): void {
  if (!result.success) throw new IsleError("validation_failed", describeIssues(result.error as ZodError));
}

function describeIssues(error: ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid request";
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  if (issue.code === "unrecognized_keys") return `${where}unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  return `${where}${issue.message}`;
}

/** A new app whose validation failures answer in Isle's error shape. */
export function createApiApp(): ApiApp {
  return new OpenAPIHono<GatewayEnv>({ defaultHook: validationHook });
}

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS label: a-z, 0-9 and '-', at most 63 characters");

/** Path parameters shared by the tenant-scoped routes. */
export const tenantParam = z.object({ tenant: dnsLabel.openapi({ param: { name: "tenant", in: "path" }, example: "acme" }) });
export const functionParams = tenantParam.extend({
  function: dnsLabel.openapi({ param: { name: "function", in: "path" }, example: "hello" }),
});
export const name = dnsLabel;

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(errorStatus) as [keyof typeof errorStatus, ...Array<keyof typeof errorStatus>]),
      message: z.string(),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

const errorDescriptions: Record<number, string> = {
  400: "Malformed JSON (`bad_request`) or a request that does not fit the schema (`validation_failed`)",
  401: "Missing or invalid credentials — the same answer whatever the reason",
  403: "The API key lacks the scope this operation needs",
  404: "No such resource (another tenant's resources look exactly like missing ones)",
  409: "Conflicts with the current state",
  413: "The body is over the size limit",
  422: "The build failed; diagnostics name file:line:column",
};

/** OpenAPI responses for the error statuses an operation can answer with. */
export function errors(...statuses: number[]) {
  const out: Record<number, { description: string; content: { "application/json": { schema: typeof errorSchema } } }> = {};
  for (const status of [400, 401, 403, 404, ...statuses]) {
    out[status] = { description: errorDescriptions[status] ?? "Error", content: { "application/json": { schema: errorSchema } } };
  }
  return out;
}

/** A JSON body: the schema, required. */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true, description, content: { "application/json": { schema } } };
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** Credentials every /v1 operation takes (see components.securitySchemes). */
export const bearer: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }];
