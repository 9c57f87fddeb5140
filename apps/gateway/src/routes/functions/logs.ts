import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { listInvocationLogs } from "@isle/db";
import { bearer, errors, functionParams, type ApiApp, type ApiDeps } from "../api.js";
import { decodeCursor, encodeCursor } from "../invocations/views.js";
import { followLogs } from "../../logs/follow-logs.js";
import { pageEntries } from "../../logs/log-entries.js";
import { requireFunction } from "./views.js";

const logEntrySchema = z
  .object({
    invocationId: z.string(),
    status: z.string().openapi({ description: "The invocation's status: `succeeded` or `failed`" }),
    at: z.string().openapi({ description: "When the line was written (ISO 8601)" }),
    level: z.string().openapi({
      description:
        "`log`, `info`, `warn`, `error`, `debug` (the console method); `exception` for an uncaught exception or rejected " +
        "promise, with its stack; `truncated` when the invocation's output went past 200 lines or 64 KiB",
    }),
    message: z.string().openapi({ description: "As the function wrote it: newlines, escape sequences and all, in one line" }),
  })
  .openapi("LogEntry");

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/functions/{function}/logs",
  tags: ["functions"],
  summary: "Read or follow a function's logs (read)",
  description:
    "The lines the function wrote (`console.*`) and its uncaught exceptions, from its invocation records. Without " +
    "`follow`: a page of the most recent invocations' lines, oldest first; `nextCursor` pages back in time. With " +
    "`follow=1`: server-sent events, first that page, then each new invocation's lines as they are recorded (one `log` " +
    "event per line, its data a LogEntry); a `: keep-alive` comment every 15 s of silence; a `dropped` event " +
    "(`{ invocations }`) if the client read too slowly to keep up. The stream lasts until the client closes it. " +
    "A follower sees the invocations served by the gateway it is connected to.",
  security: bearer,
  request: {
    params: functionParams,
    query: z.strictObject({
      follow: z.enum(["0", "1", "true", "false"]).optional().openapi({ description: "`1` to stream as server-sent events" }),
      status: z.string().max(64).optional().openapi({ description: "Only invocations with this status (`succeeded`, `failed`)" }),
      search: z.string().min(1).max(256).optional().openapi({ description: "Only lines whose message contains this text, case-insensitively" }),
      cursor: z.string().max(512).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "Invocations per page" }),
    }),
  },
  responses: {
    200: {
      description: "A page of lines, or with `follow=1` an event stream of them",
      content: {
        "application/json": { schema: z.object({ lines: z.array(logEntrySchema), nextCursor: z.string().nullable() }) },
        "text/event-stream": { schema: z.string().openapi({ example: 'event: log\ndata: {"invocationId":"inv_…","status":"succeeded","at":"…","level":"log","message":"hello"}\n\n' }) },
      },
    },
    ...errors(),
  },
});

/** `GET /v1/tenants/:tenant/functions/:function/logs?follow=&status=&search=&cursor=&limit=`. */
export function register(app: ApiApp, { db, logFeed }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const { follow, status, search, cursor, limit } = c.req.valid("query");
    const fn = await requireFunction(db, tenant, c.req.valid("param").function);
    const filter = { status, search };
    // Subscribed before the recent page is read, so no line falls between the two.
    const follower = follow === "1" || follow === "true" ? followLogs(logFeed, tenant.id, fn.id, filter, logFeed.heartbeatMs) : undefined;
    let page: Awaited<ReturnType<typeof listInvocationLogs>>;
    try {
      page = await listInvocationLogs(db, tenant.id, fn.id, { status, search, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) });
    } catch (err) {
      follower?.cancel();
      throw err;
    }
    const lines = pageEntries(page.items, filter);
    if (!follower) return c.json({ lines, nextCursor: page.next ? encodeCursor(page.next) : null }, 200);
    const shown = new Set(page.items.map((item) => item.id));
    return streamSSE(c, (sse) => follower.stream(sse, lines, shown));
  });
}
