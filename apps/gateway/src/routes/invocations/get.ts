import { createRoute, z } from "@hono/zod-openapi";
import { findFunction, findInvocation } from "@isle/db";
import { IsleError } from "@isle/errors";
import { bearer, errors, jsonResponse, tenantParam, type ApiApp, type ApiDeps } from "../api.js";
import { callbackSchema, invocationSchema, invocationView, logLineSchema } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/invocations/{id}",
  tags: ["invocations"],
  summary: "Get one invocation record with its logs and its callback's outcome (read)",
  security: bearer,
  request: { params: tenantParam.extend({ id: z.string().max(64).openapi({ param: { name: "id", in: "path" } }) }) },
  responses: {
    200: jsonResponse(
      invocationSchema.extend({
        logs: z.array(logLineSchema),
        callback: callbackSchema.nullable().openapi({ description: "An async invocation's latest callback, once it ended; null without one" }),
      }),
      "The record",
    ),
    ...errors(),
  },
});

/** `GET /v1/tenants/:tenant/invocations/:id`: the record, its output and its callback's outcome. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const record = await findInvocation(db, tenant.id, c.req.valid("param").id);
    const principal = c.get("principal");
    if (record && principal.kind === "key" && principal.key.functionName !== null) {
      const fn = await findFunction(db, tenant.id, principal.key.functionName);
      if (fn?.id !== record.functionId) throw new IsleError("not_found", "invocation not found");
    }
    if (!record) throw new IsleError("not_found", "invocation not found");
    return c.json({ ...invocationView(record), logs: record.logs, callback: record.callback }, 200);
  });
}
