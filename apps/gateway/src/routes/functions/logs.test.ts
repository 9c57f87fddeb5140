import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invocations, type InvocationLogLine } from "@isle/db";
import { errorOf, operatorToken, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

type Entry = { invocationId: string; status: string; at: string; level: string; message: string };
type Page = { lines: Entry[]; nextCursor: string | null };

const base = Date.parse("2026-11-01T00:00:00Z");
const line = (message: string, level = "log", offsetMs = 0): InvocationLogLine => ({ at: new Date(base + offsetMs).toISOString(), level, message });
const hostile = 'one\ntwo \u001b[31mred\u001b[0m {"level":"error","tenant":"other"}';

/** Reads server-sent events from a streamed response until `until` holds or the time runs out. */
class EventReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  text = "";

  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }

  /** `log` events so far, parsed. */
  entries(): Entry[] {
    return this.text
      .split("\n\n")
      .filter((block) => block.startsWith("event: log\n"))
      .map((block) => JSON.parse(block.slice("event: log\ndata: ".length)) as Entry);
  }

  async until(done: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`stream did not get there; it read:\n${this.text}`);
      const next = await Promise.race([this.reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), left))]);
      if (next === undefined) continue;
      if (next.done) throw new Error(`stream ended; it read:\n${this.text}`);
      this.text += this.decoder.decode(next.value, { stream: true });
    }
  }

  close(): Promise<void> {
    return this.reader.cancel();
  }
}

describe("function logs route", () => {
  let gw: TestGateway;
  const tenants: Record<string, string> = {};
  const fns: Record<string, string> = {};

  beforeAll(async () => {
    gw = await startTestGateway({ logHeartbeatMs: 200 });
    tenants.acme = (await gw.createTenant("acme")).id;
    tenants.other = (await gw.createTenant("other")).id;
    const fnId = async (tenant: string, name: string) =>
      ((await (await gw.operator(`/v1/tenants/${tenant}/functions/${name}`, { method: "PUT", json: {} })).json()) as { id: string }).id;
    fns.api = await fnId("acme", "api");
    fns.cron = await fnId("acme", "cron");
    fns.theirs = await fnId("other", "api");
    const record = (id: string, tenantId: string, functionId: string, i: number, status: string, logs: InvocationLogLine[]) => ({
      id,
      tenantId,
      functionId,
      mode: "sync" as const,
      status,
      startedAt: new Date(base + i * 1000),
      logs,
    });
    await gw.database.db.insert(invocations).values([
      record("inv_a0", tenants.acme, fns.api, 0, "succeeded", [line("zero first"), line("zero second", "warn")]),
      record("inv_a1", tenants.acme, fns.api, 1, "failed", [line("Uncaught Error: one 100%", "exception")]),
      record("inv_a2", tenants.acme, fns.api, 2, "succeeded", []),
      record("inv_a3", tenants.acme, fns.api, 3, "succeeded", [line(hostile)]),
      record("inv_cron", tenants.acme, fns.cron, 4, "succeeded", [line("cron line")]),
      record("inv_theirs", tenants.other, fns.theirs, 5, "succeeded", [line("the other tenant's secret")]),
    ]);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const page = async (query: string, credential = operatorToken) => {
    const res = await gw.request(`/v1/tenants/acme/functions/api/logs${query}`, {}, credential);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Page;
  };
  const follow = async (query = "", credential = operatorToken, tenant = "acme") => {
    const res = await gw.request(`/v1/tenants/${tenant}/functions/api/logs?follow=1${query}`, {}, credential);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    return new EventReader(res);
  };

  it("reads the recent lines of the function, oldest first, one entry per line whatever it holds", async () => {
    const { lines, nextCursor } = await page("");
    expect(lines.map((l) => `${l.invocationId} ${l.level}: ${l.message}`)).toEqual([
      "inv_a0 log: zero first",
      "inv_a0 warn: zero second",
      "inv_a1 exception: Uncaught Error: one 100%",
      `inv_a3 log: ${hostile}`,
    ]);
    expect(lines[2]).toMatchObject({ status: "failed", at: "2026-11-01T00:00:00.000Z" });
    expect(nextCursor).toBeNull();
  });

  it("pages back in time", async () => {
    const first = await page("?limit=2");
    expect(first.lines.map((l) => l.invocationId)).toEqual(["inv_a1", "inv_a3"]);
    const second = await page(`?limit=2&cursor=${first.nextCursor}`);
    expect(second.lines.map((l) => l.invocationId)).toEqual(["inv_a0", "inv_a0"]);
    expect(second.nextCursor).toBeNull();
  });

  it("filters by the invocation's status and by text in the message", async () => {
    expect((await page("?status=failed")).lines.map((l) => l.invocationId)).toEqual(["inv_a1"]);
    expect((await page("?search=SECOND")).lines.map((l) => l.message)).toEqual(["zero second"]);
    // The text is matched as it is: % is no wildcard.
    expect((await page(`?search=${encodeURIComponent("100%")}`)).lines.map((l) => l.invocationId)).toEqual(["inv_a1"]);
    expect((await page(`?search=${encodeURIComponent("e%")}`)).lines).toEqual([]);
    expect((await page("?search=secret")).lines).toEqual([]);
  });

  it("follows: the recent lines, then each new invocation's lines as they are recorded", async () => {
    const stream = await follow();
    await stream.until(() => stream.entries().length === 4);
    gw.recorder.record({ id: "inv_live", tenantId: tenants.acme!, functionId: fns.api!, mode: "sync", status: "succeeded", startedAt: new Date(), logs: [line(hostile)] });
    await stream.until(() => stream.entries().length === 5);
    // Output of waitUntil work, after the record.
    gw.recorder.appendLogs(tenants.acme!, "inv_live", [line("after the response")]);
    await stream.until(() => stream.entries().length === 6);
    expect(stream.entries().slice(4)).toEqual([
      { invocationId: "inv_live", status: "succeeded", at: line("").at, level: "log", message: hostile },
      { invocationId: "inv_live", status: "succeeded", at: line("").at, level: "log", message: "after the response" },
    ]);
    // Each entry is one data line, however many lines its message holds.
    expect(stream.text).toContain(`data: ${JSON.stringify(stream.entries()[4])}\n\n`);
    await stream.close();
  });

  it("never streams another tenant's lines, nor another function's", async () => {
    const stream = await follow();
    await stream.until(() => stream.entries().length === 4);
    const other = { mode: "sync" as const, status: "succeeded", startedAt: new Date() };
    gw.recorder.record({ ...other, id: "inv_theirs_live", tenantId: tenants.other!, functionId: fns.theirs!, logs: [line("the other tenant's secret")] });
    gw.recorder.record({ ...other, id: "inv_cron_live", tenantId: tenants.acme!, functionId: fns.cron!, logs: [line("another function")] });
    // The other tenant's id for this function's id must not match either.
    gw.recorder.record({ ...other, id: "inv_forged", tenantId: tenants.other!, functionId: fns.api!, logs: [line("the other tenant, this function's id")] });
    gw.recorder.record({ ...other, id: "inv_mine", tenantId: tenants.acme!, functionId: fns.api!, logs: [line("mine")] });
    await stream.until(() => stream.entries().length === 5);
    expect(stream.entries().at(-1)?.invocationId).toBe("inv_mine");
    expect(stream.text).not.toContain("other tenant");
    expect(stream.text).not.toContain("another function");
    await stream.close();
  });

  it("applies the filters to what it follows", async () => {
    const stream = await follow("&status=failed&search=boom");
    await stream.until(() => stream.text.includes(": keep-alive"));
    expect(stream.entries()).toEqual([]);
    const live = { tenantId: tenants.acme!, functionId: fns.api!, mode: "sync" as const, startedAt: new Date() };
    gw.recorder.record({ ...live, id: "inv_ok", status: "succeeded", logs: [line("boom but it worked")] });
    gw.recorder.record({ ...live, id: "inv_bad", status: "failed", logs: [line("quiet"), line("Uncaught Error: BOOM", "exception")] });
    await stream.until(() => stream.entries().length === 1);
    expect(stream.entries()).toMatchObject([{ invocationId: "inv_bad", level: "exception" }]);
    await stream.close();
  });

  it("keeps a quiet stream open with comments, and lets go of the feed when the client leaves", async () => {
    const before = gw.recorder.feed.followers;
    const stream = await follow();
    expect(gw.recorder.feed.followers).toBe(before + 1);
    await stream.until(() => stream.text.split(": keep-alive\n\n").length > 2, 3000);
    await stream.close();
    await expect.poll(() => gw.recorder.feed.followers).toBe(before);
  });

  it("is a tenant read: a read key follows, another tenant's key and no key are refused, a key for another function too", async () => {
    const { key: reader } = await gw.createKey("acme", { name: "logs-reader", scopes: ["read"] });
    const stream = await follow("", reader);
    await stream.until(() => stream.entries().length >= 4);
    await stream.close();
    const { key: theirs } = await gw.createKey("other", { name: "admin", scopes: ["admin"] });
    const { key: cronOnly } = await gw.createKey("acme", { name: "cron-only", scopes: ["read"], functionName: "cron" });
    for (const [credential, status] of [[theirs, 401], [undefined, 401], [cronOnly, 404]] as const) {
      const res = await gw.request("/v1/tenants/acme/functions/api/logs?follow=1", {}, credential);
      expect(res.status).toBe(status);
    }
    const missing = await gw.operator("/v1/tenants/acme/functions/nothing/logs");
    expect(await errorOf(missing)).toMatchObject({ code: "not_found" });
  });
});
