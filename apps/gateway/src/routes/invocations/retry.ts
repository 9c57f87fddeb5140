import { createRoute, z } from "@hono/zod-openapi";
import { IsleError } from "@isle/errors";
import { bearer, errors, jsonResponse, tenantParam, type ApiApp, type ApiDeps } from "../api.js";
import { requireQueue } from "./dead-letters.js";

export const route = createRoute({
  method: "post",
  path: "/v1/tenants/{tenant}/invocations/{id}/retry",
  tags: ["invocations"],
  summary: "Run a dead-lettered async invocation again, with a fresh budget of attempts (invoke)",
  security: bearer,
  request: { params: tenantParam.extend({ id: z.string().max(128).openapi({ param: { name: "id", in: "path" } }) }) },
  responses: {
    202: jsonResponse(z.object({ invocationId: z.string() }), "Queued again; attempt numbers continue"),
    ...errors(503),
  },
});

/** `POST /v1/tenants/:tenant/invocations/:id/retry`: another tenant's id is a missing one. */
export function register(app: ApiApp, { queue }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const { id } = c.req.valid("param");
    if (!(await requireQueue(queue).retryDeadLetter(tenant.id, id))) throw new IsleError("not_found", "no such dead letter");
    return c.json({ invocationId: id }, 202, { location: `/v1/tenants/${tenant.name}/invocations/${id}` });
  });
}
