import { createRoute, z } from "@hono/zod-openapi";
import { IsleError } from "@isle/errors";
import type { DeadLetter, InvocationQueue } from "@isle/queue";
import { bearer, errors, jsonResponse, tenantParam, type ApiApp, type ApiDeps } from "../api.js";

const deadLetterSchema = z
  .object({
    id: z.string(),
    functionId: z.string(),
    function: z.string().nullable(),
    request: z.object({ method: z.string(), path: z.string(), query: z.string() }).nullable(),
    attempts: z.number().int(),
    error: z.string(),
    enqueuedAt: z.string(),
    deadAt: z.string(),
  })
  .openapi("DeadLetter");

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/dead-letters",
  tags: ["invocations"],
  summary: "List async invocations that used up their attempts, oldest first (invoke)",
  security: bearer,
  request: {
    params: tenantParam,
    query: z.strictObject({
      cursor: z.string().max(512).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({ deadLetters: z.array(deadLetterSchema), nextCursor: z.string().nullable() }),
      "A page of dead letters; pass `nextCursor` as `cursor` for the next one. Retry one with POST …/invocations/{id}/retry",
    ),
    ...errors(503),
  },
});

/** The queue, or 503 on a gateway without one. */
export function requireQueue(queue: InvocationQueue | undefined): InvocationQueue {
  if (!queue) throw new IsleError("unavailable", "this gateway has no async queue");
  return queue;
}

/** A dead letter as listed: what was asked and why it died, not the stored headers or body. */
function deadLetterView(d: DeadLetter) {
  const p = d.payload as { functionName?: unknown; method?: unknown; path?: unknown; query?: unknown };
  const request =
    typeof p.method === "string" && typeof p.path === "string" ? { method: p.method, path: p.path, query: typeof p.query === "string" ? p.query : "" } : null;
  return {
    id: d.id,
    functionId: d.functionId,
    function: typeof p.functionName === "string" ? p.functionName : null,
    request,
    attempts: d.attempts,
    error: d.error,
    enqueuedAt: d.enqueuedAt.toISOString(),
    deadAt: d.deadAt.toISOString(),
  };
}

/** `GET /v1/tenants/:tenant/dead-letters?cursor=&limit=`. */
export function register(app: ApiApp, { queue }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    const page = await requireQueue(queue).listDeadLetters(c.get("tenant").id, { limit, ...(cursor !== undefined ? { cursor } : {}) });
    return c.json({ deadLetters: page.items.map(deadLetterView), nextCursor: page.nextCursor ?? null }, 200);
  });
}
