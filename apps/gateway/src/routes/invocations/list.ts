import { createRoute, z } from "@hono/zod-openapi";
import { findFunction, listInvocations } from "@isle/db";
import { bearer, errors, jsonResponse, name, tenantParam, type ApiApp, type ApiDeps } from "../api.js";
import { decodeCursor, encodeCursor, invocationSchema, invocationView } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/invocations",
  tags: ["invocations"],
  summary: "List invocation records, newest first (read)",
  security: bearer,
  request: {
    params: tenantParam,
    query: z.strictObject({
      function: name.optional(),
      status: z.string().max(64).optional(),
      cursor: z.string().max(512).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({ invocations: z.array(invocationSchema), nextCursor: z.string().nullable() }),
      "A page of records; pass `nextCursor` as `cursor` for the next one",
    ),
    ...errors(),
  },
});

/** `GET /v1/tenants/:tenant/invocations?function=&status=&cursor=&limit=`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const query = c.req.valid("query");
    const principal = c.get("principal");
    const restricted = principal.kind === "key" ? principal.key.functionName : null;
    // A key restricted to one function sees only that function's records, whatever it asks.
    const functionName = restricted ?? query.function;
    let functionId: string | undefined;
    if (functionName !== undefined) {
      const fn = query.function === undefined || query.function === functionName ? await findFunction(db, tenant.id, functionName) : undefined;
      if (!fn) return c.json({ invocations: [], nextCursor: null }, 200);
      functionId = fn.id;
    }
    const page = await listInvocations(db, tenant.id, {
      functionId,
      status: query.status,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      limit: query.limit,
    });
    return c.json({ invocations: page.items.map(invocationView), nextCursor: page.next ? encodeCursor(page.next) : null }, 200);
  });
}
