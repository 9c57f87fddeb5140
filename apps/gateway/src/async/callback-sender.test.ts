import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CidrList } from "@isle/config";
import { createTenant, findInvocation, saveInvocation, saveInvocationCallback } from "@isle/db";
import { openTestDatabase, type OpenTestDatabase } from "@isle/db/testing";
import { createLogger } from "@isle/telemetry";
import { CallbackSender, type CallbackOutcome, type CallbackResult } from "./callback-sender.js";

const logger = createLogger({ service: "gateway", level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
const result: CallbackResult = {
  invocationId: "inv_1",
  tenantId: "ten_1",
  attempt: 2,
  status: 201,
  headers: [["content-type", "text/plain"], ["x-out", "1"], ["connection", "close"]],
  body: new Uint8Array(Buffer.from("the answer")),
  durationMs: 12,
};

const servers: Server[] = [];
const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
};
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A receiver answering `statuses` in turn (the last one from then on). */
async function receiver(statuses: number[]) {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses[Math.min(got.length - 1, statuses.length - 1)]!;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

function sender(allow: string, options: Partial<ConstructorParameters<typeof CallbackSender>[0]> = {}) {
  const outcomes: CallbackOutcome[] = [];
  const s = new CallbackSender({
    allow: CidrList.parse(allow),
    logger,
    retryDelaysMs: [10, 10],
    onDone: (_r, o) => void outcomes.push(o),
    ...options,
  });
  return { s, outcomes };
}

const originOf = (url: string) => new URL(url).origin;
const at = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);

describe("CallbackSender", () => {
  it("POSTs the function's response with Isle's headers, retrying 5xx", async () => {
    const { url, got } = await receiver([503, 200]);
    const { s, outcomes } = sender("127.0.0.1/32");
    s.send(url, result);
    await until(() => outcomes.length > 0);
    expect(outcomes).toEqual([{ origin: originOf(url), attempt: 2, delivered: true, status: 200, tries: 2, at }]);
    expect(got).toHaveLength(2);
    expect(got[1]!.body).toBe("the answer");
    expect(got[1]!.headers).toMatchObject({
      "x-isle-invocation-id": "inv_1",
      "x-isle-status": "201",
      "x-isle-duration-ms": "12",
      "x-out": "1",
      "content-type": "text/plain",
    });
  });

  it("gives up after its tries and reports it; a 4xx is not retried", async () => {
    const { url, got } = await receiver([500]);
    const { s, outcomes } = sender("127.0.0.1/32");
    s.send(url, result);
    await until(() => outcomes.length > 0);
    expect(got).toHaveLength(3);
    expect(outcomes).toEqual([{ origin: originOf(url), attempt: 2, delivered: false, status: 500, tries: 3, error: "the receiver answered 500", at }]);
    const refusing = await receiver([404]);
    const second = sender("127.0.0.1/32");
    second.s.send(refusing.url, result);
    await until(() => second.outcomes.length > 0);
    expect(refusing.got).toHaveLength(1);
    expect(second.outcomes).toEqual([{ origin: originOf(refusing.url), attempt: 2, delivered: false, status: 404, tries: 1, error: "the receiver answered 404", at }]);
  });

  it("refuses a loopback receiver that is not allowlisted, at delivery time too", async () => {
    const { url, got } = await receiver([200]);
    const { s, outcomes } = sender("");
    s.send(url, result);
    await until(() => outcomes.length > 0);
    expect(got).toHaveLength(0);
    expect(outcomes[0]).toMatchObject({ delivered: false, error: expect.stringContaining("loopback") });
    expect(outcomes[0]).not.toHaveProperty("status");
  });

  it("names the receiver by its origin alone: a token in the path or query never reaches the outcome", async () => {
    const { url, got } = await receiver([403]);
    const secretUrl = `${url}/T0001/B0002/s3cr3t-t0k3n?sig=abcdef`;
    const { s, outcomes } = sender("127.0.0.1/32");
    s.send(secretUrl, result);
    await until(() => outcomes.length > 0);
    expect(got).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ origin: originOf(url), delivered: false, status: 403 });
    // A failure whose message quotes the URL is told without its path and query.
    const quoting = sender("127.0.0.1/32", { fetch: async (target) => Promise.reject(new Error(`could not reach ${String(target)}`)) });
    quoting.s.send(secretUrl, result);
    await until(() => quoting.outcomes.length > 0);
    expect(quoting.outcomes[0]).toMatchObject({ delivered: false, tries: 3, error: `could not reach ${originOf(url)}/…` });
    for (const outcome of [...outcomes, ...quoting.outcomes]) {
      expect(JSON.stringify(outcome)).not.toMatch(/s3cr3t|abcdef|T0001/);
    }
  });

  it("tells a refused connection by its code and a silent receiver by the time it was given, with no status", async () => {
    const { url } = await receiver([200]);
    servers.splice(0).forEach((server) => server.close());
    await new Promise((r) => setTimeout(r, 50));
    const refused = sender("127.0.0.1/32", { retryDelaysMs: [] });
    refused.s.send(url, result);
    await until(() => refused.outcomes.length > 0);
    expect(refused.outcomes[0]).toEqual({ origin: originOf(url), attempt: 2, delivered: false, tries: 1, error: expect.stringContaining("ECONNREFUSED"), at });

    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const slow = sender("127.0.0.1/32", { retryDelaysMs: [], timeoutMs: 100 });
    slow.s.send(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, result);
    await until(() => slow.outcomes.length > 0);
    expect(slow.outcomes[0]).toMatchObject({ delivered: false, tries: 1, error: "no answer within 100 ms" });
  });

  it("waits, when drained, for the outcome to be stored, and gives up later tries saying why", async () => {
    const { url, got } = await receiver([503]);
    const stored: Array<[CallbackResult, CallbackOutcome]> = [];
    const { s } = sender("127.0.0.1/32", {
      retryDelaysMs: [200, 200],
      onDone: async (r, o) => {
        await new Promise((done) => setTimeout(done, 100));
        stored.push([r, o]);
      },
    });
    s.send(url, result);
    await until(() => got.length > 0);
    await s.drain(5000);
    expect(got).toHaveLength(1);
    expect(stored).toHaveLength(1);
    expect(stored[0]![0]).toMatchObject({ invocationId: "inv_1", attempt: 2 });
    expect(stored[0]![1]).toMatchObject({ delivered: false, status: 503, tries: 1, error: "the receiver answered 503; no more tries: the gateway stopped" });
  });
});

describe("CallbackSender storing outcomes on records", () => {
  let opened: OpenTestDatabase;
  beforeAll(async () => {
    opened = await openTestDatabase("pglite");
  });
  afterAll(() => opened?.dispose());

  it("stores each callback's outcome on the invocation's record: origin, attempt, status, tries, error, time — no path or query", async () => {
    const db = opened.database.db;
    const tenant = await createTenant(db, "acme");
    await saveInvocation(db, { id: "inv_1", tenantId: tenant.id, functionId: "fn_1", mode: "async", trigger: "queue", status: "dead", attempt: 2, startedAt: new Date() });
    const { url } = await receiver([502]);
    // As start-async.ts wires it.
    const s = new CallbackSender({
      allow: CidrList.parse("127.0.0.1/32"),
      logger,
      retryDelaysMs: [10],
      onDone: (r, outcome) => saveInvocationCallback(db, r.tenantId, r.invocationId, outcome),
    });
    s.send(`${url}/T0001/s3cr3t?sig=abcdef`, { ...result, tenantId: tenant.id });
    let record = await findInvocation(db, tenant.id, "inv_1");
    for (let i = 0; i < 200 && !record?.callback; i++) {
      await new Promise((r) => setTimeout(r, 10));
      record = await findInvocation(db, tenant.id, "inv_1");
    }
    expect(record?.callback).toEqual({ origin: originOf(url), attempt: 2, delivered: false, status: 502, tries: 2, error: "the receiver answered 502", at });
    expect(JSON.stringify(record)).not.toMatch(/s3cr3t|abcdef|T0001/);
  });
});
