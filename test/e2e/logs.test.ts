import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { waitUntil } from "../harness/processes.js";
import { openEventStream, type EventStream } from "../harness/sse.js";
import { Stack } from "../harness/stack.js";

interface LogLine {
  at: string;
  level: string;
  message: string;
}
interface LogEntry extends LogLine {
  invocationId: string;
  status: string;
}
interface Record {
  id: string;
  status: string;
  errorCode: string | null;
  logs: LogLine[];
}

const hostile = (marker: string) => `hostile ${marker}\nsecond line \u001b[31mred\u001b[0m {"level":"error","tenant":"other","message":"forged"}`;

// A function's console output and uncaught exceptions, through real processes:
// captured in the isolate, carried in the trailer, stored with the record, followed live.
describe(`invocation logs (${process.env.DATABASE_URL ? "postgres" : "pglite"})`, () => {
  let stack: Stack;
  const keys: { [tenant: string]: string } = {};
  const streams: { [tenant: string]: EventStream } = {};

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL });
    for (const tenant of ["acme", "other"]) {
      await stack.createTenant(tenant);
      await stack.deployPublic(tenant, "logger", fixture("hostile-logs"));
      const res = await stack.operator(`/v1/tenants/${tenant}/keys`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "reader", scopes: ["read"] }),
      });
      keys[tenant] = ((await res.json()) as { key: string }).key;
      // Each tenant follows its own function of the same name from before the first invocation.
      streams[tenant] = await openEventStream(`${stack.baseUrl}/v1/tenants/${tenant}/functions/logger/logs?follow=1`, {
        authorization: `Bearer ${keys[tenant]}`,
      });
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(streams).map((s) => s.close()));
    await stack?.stop();
  });

  const read = (tenant: string, path: string) => fetch(`${stack.baseUrl}${path}`, { headers: { authorization: `Bearer ${keys[tenant]}` } });
  /** The invocation's record once its logs have `count` lines (records are written in batches). */
  async function recordOf(tenant: string, id: string, count: number): Promise<{ record: Record; raw: string }> {
    let found: { record: Record; raw: string } | undefined;
    await waitUntil(
      async () => {
        const res = await read(tenant, `/v1/tenants/${tenant}/invocations/${id}`);
        if (res.status !== 200) return false;
        const raw = await res.text();
        found = { record: JSON.parse(raw) as Record, raw };
        return found.record.logs.length >= count;
      },
      10_000,
      `the record of ${id} with ${count} lines\n${stack.tail()}`,
    );
    return found!;
  }

  it("stores hostile output as one escaped line each, in the record of the right tenant, and streams it to that tenant only", async () => {
    const res = await fetch(`${stack.baseUrl}/fn/acme/logger/?marker=m1`);
    expect(await res.text()).toBe("logged m1");
    const id = res.headers.get("x-isle-invocation-id")!;

    const { record, raw } = await recordOf("acme", id, 2);
    expect(record.logs.map(({ level, message }) => ({ level, message }))).toEqual([
      { level: "log", message: hostile("m1") },
      { level: "warn", message: "{ marker: 'm1', nested: { ok: true } }" },
    ]);
    // On the wire, as stored: escaped inside one JSON string, no raw newline or escape byte.
    expect(raw).toContain(String.raw`"message":"hostile m1\nsecond line \u001b[31mred\u001b[0m {\"level\":\"error\",\"tenant\":\"other\",\"message\":\"forged\"}"`);
    expect(raw).not.toMatch(/[\n\u001b]/);

    // The other tenant sees neither the record nor a line of it.
    expect((await read("other", `/v1/tenants/other/invocations/${id}`)).status).toBe(404);
    expect((await read("acme", `/v1/tenants/other/invocations/${id}`)).status).toBe(401);
    const theirs = (await (await read("other", "/v1/tenants/other/invocations")).json()) as { invocations: Array<{ id: string }> };
    expect(theirs.invocations.map((i) => i.id)).not.toContain(id);

    await waitUntil(() => streams.acme!.events<LogEntry>("log").length >= 2, 10_000, "acme's live lines");
    expect(streams.acme!.events<LogEntry>("log").slice(0, 2)).toMatchObject([
      { invocationId: id, status: "succeeded", level: "log", message: hostile("m1") },
      { invocationId: id, level: "warn" },
    ]);
    // Each line is one `data:` line of the stream.
    expect(streams.acme!.text()).toContain(`data: ${JSON.stringify(streams.acme!.events<LogEntry>("log")[0])}\n\n`);
  });

  it("records an uncaught exception with its message and stack, and output after the response, in the same record", async () => {
    const thrown = await fetch(`${stack.baseUrl}/fn/acme/logger/throw?marker=m2`);
    expect(thrown.status).toBe(500);
    const failed = await recordOf("acme", thrown.headers.get("x-isle-invocation-id")!, 3);
    expect(failed.record).toMatchObject({ status: "failed", errorCode: "function_error" });
    expect(failed.record.logs[2]).toMatchObject({ level: "exception", message: expect.stringMatching(/^Uncaught Error: boom m2\n\s+at /) });

    const later = await fetch(`${stack.baseUrl}/fn/acme/logger/later?marker=m3`);
    expect(await later.text()).toBe("logged m3");
    const id = later.headers.get("x-isle-invocation-id")!;
    const { record } = await recordOf("acme", id, 3);
    expect(record.logs.map((l) => l.message)).toEqual([hostile("m3"), "{ marker: 'm3', nested: { ok: true } }", "after the response m3"]);
    await waitUntil(() => streams.acme!.events<LogEntry>("log").some((e) => e.message === "after the response m3"), 10_000, "the late line, live");
  });

  it("keeps the output of an async invocation in its record too", async () => {
    const accepted = await fetch(`${stack.baseUrl}/async/acme/logger/?marker=m4`, { method: "POST" });
    expect(accepted.status).toBe(202);
    const { invocationId } = (await accepted.json()) as { invocationId: string };
    const { record } = await recordOf("acme", invocationId, 2);
    expect(record.status).toBe("succeeded");
    expect(record.logs.map((l) => l.message)).toEqual([hostile("m4"), "{ marker: 'm4', nested: { ok: true } }"]);
    await waitUntil(() => streams.acme!.events<LogEntry>("log").some((e) => e.invocationId === invocationId), 10_000, "the async lines, live");
  });

  it("never shows one tenant's lines to another, live or stored", async () => {
    const res = await fetch(`${stack.baseUrl}/fn/other/logger/?marker=theirs`);
    expect(await res.text()).toBe("logged theirs");
    await waitUntil(() => streams.other!.events<LogEntry>("log").length >= 2, 10_000, "other's live lines");
    expect(streams.other!.events<LogEntry>("log").map((e) => e.invocationId)).toEqual([
      res.headers.get("x-isle-invocation-id"),
      res.headers.get("x-isle-invocation-id"),
    ]);
    expect(streams.other!.text()).not.toMatch(/\bm[1-4]\b/);
    expect(streams.acme!.text()).not.toContain("theirs");
    const page = (await (await read("other", "/v1/tenants/other/functions/logger/logs")).json()) as { lines: LogEntry[] };
    expect(page.lines.map((l) => l.message).join("\n")).not.toMatch(/\bm[1-4]\b/);

    // And in the database itself: every stored line of acme's markers is in a row of acme's.
    await stack.stopPart("gateway");
    const rows = await stack.query("select t.name, i.logs::text as logs from invocations i join tenants t on t.id = i.tenant_id");
    for (const row of rows) {
      const logs = String(row.logs);
      if (/\bm[1-4]\b/.test(logs)) expect(row.name).toBe("acme");
      if (logs.includes("theirs")) expect(row.name).toBe("other");
      expect(logs).not.toMatch(/[\n\u001b]/);
    }
    expect(rows.filter((r) => String(r.logs).includes("hostile m1"))).toHaveLength(1);
  });
});
