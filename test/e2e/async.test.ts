import { randomBytes } from "node:crypto";
import { removeJetStreamQueue } from "@isle/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCallbackReceiver, type Received } from "../harness/callback-receiver.js";
import { fixture } from "../harness/fixtures.js";
import { PrivateNats } from "../harness/private-nats.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

/** What the `attempts` fixture echoes. */
interface Seen {
  invocationId: string;
  attempt: string;
  method: string;
  path: string;
  query: string;
  body: string;
  apiKey: string | null;
  authorization: string | null;
}

const machineNats = "nats://127.0.0.1:4222";
const jetStreamQueueName = `e2e-${randomBytes(4).toString("hex")}`;
// JetStream's behaviour does not depend on the metadata database: its files run on PGlite only
// (scripts/test.sh runs this file again on PostgreSQL for the table queue).
const onPostgres = Boolean(process.env.DATABASE_URL);

// Each queue in turn: the table queue on the stack's database, and JetStream on the machine's
// NATS server under a stream name of this run's own, removed afterwards.
const queues: Array<[string, Record<string, string>]> = [
  ["the table queue", {}],
  ...(onPostgres ? [] : [["JetStream", { NATS_URL: machineNats, ISLE_QUEUE_NAME: jetStreamQueueName }] as [string, Record<string, string>]]),
];

afterAll(async () => {
  if (!onPostgres) await removeJetStreamQueue(machineNats, jetStreamQueueName);
});

describe.each(queues)("async invocations on %s", (_name, queueEnv) => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
  let key: string;
  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    stack = await Stack.start({
      databaseUrl: process.env.DATABASE_URL,
      env: {
        gateway: {
          ...queueEnv,
          ISLE_CALLBACK_ALLOW: "127.0.0.1/32",
          ISLE_ASYNC_MAX_ATTEMPTS: "3",
          ISLE_ASYNC_BACKOFF_MS: "100",
          ISLE_ASYNC_VISIBILITY_MS: "3000",
          ISLE_ASYNC_CONCURRENCY: "2",
        },
      },
    });
    await stack.createTenant("acme");
    const deployed = await stack.deploy("acme", "probe", fixture("attempts"));
    expect(deployed.status).toBe(201);
    const res = await stack.operator("/v1/tenants/acme/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "async", scopes: ["invoke", "read"] }),
    });
    key = ((await res.json()) as { key: string }).key;
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  const enqueue = (path: string, headers: Record<string, string> = {}, body?: string) =>
    fetch(`${stack.baseUrl}/async/acme/probe${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, ...headers },
      ...(body !== undefined ? { body } : {}),
    });
  const callbacksOf = (id: string): Received[] => receiver.received.filter((r) => r.headers["x-isle-invocation-id"] === id);
  const record = async (id: string) => (await (await stack.operator(`/v1/tenants/acme/invocations/${id}`)).json()) as Record<string, unknown>;

  it("answers 202 with a Location, runs the function as attempt 1 and POSTs its response to the callback", async () => {
    const res = await enqueue("/orders?x=1", { "x-callback-url": `${receiver.url}/done`, "content-type": "text/plain" }, "ping");
    expect(res.status).toBe(202);
    const { invocationId } = (await res.json()) as { invocationId: string };
    expect(res.headers.get("location")).toBe(`/v1/tenants/acme/invocations/${invocationId}`);
    await waitUntil(() => callbacksOf(invocationId).length > 0, 20_000, "the callback");
    const [callback] = callbacksOf(invocationId);
    expect(callback!.path).toBe("/done");
    expect(callback!.headers).toMatchObject({ "x-isle-status": "200", "x-probe": "yes" });
    expect(Number(callback!.headers["x-isle-duration-ms"])).toBeGreaterThanOrEqual(0);
    const seen = JSON.parse(callback!.body) as Seen;
    expect(seen).toMatchObject({ invocationId, attempt: "1", method: "POST", path: "/orders", query: "?x=1", body: "ping", apiKey: null, authorization: null });
    await waitUntil(async () => (await record(invocationId))["status"] === "succeeded", 10_000, "the record");
    expect(await record(invocationId)).toMatchObject({ mode: "async", trigger: "queue", attempt: 1, httpStatus: 200 });
    // The callback's outcome joins the record, naming the receiver by its origin only.
    await waitUntil(async () => (await record(invocationId))["callback"] != null, 10_000, "the callback's outcome");
    expect((await record(invocationId))["callback"]).toMatchObject({ origin: receiver.url, attempt: 1, delivered: true, status: 200, tries: 1 });
  });

  it("answers 404, not 202, for a function that does not exist", async () => {
    const res = await fetch(`${stack.baseUrl}/async/acme/missing`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(404);
  });

  it("retries a failing function, dead-letters it after its attempts, and runs it again when retried by the API", async () => {
    const res = await enqueue("?fail=1", { "x-callback-url": `${receiver.url}/failed` });
    expect(res.status).toBe(202);
    const { invocationId } = (await res.json()) as { invocationId: string };
    const deadIds = async () => {
      const list = await fetch(`${stack.baseUrl}/v1/tenants/acme/dead-letters`, { headers: { authorization: `Bearer ${key}` } });
      expect(list.status).toBe(200);
      return ((await list.json()) as { deadLetters: Array<{ id: string; attempts: number }> }).deadLetters;
    };
    await waitUntil(async () => (await deadIds()).some((d) => d.id === invocationId), 30_000, "the dead letter");
    expect((await deadIds()).find((d) => d.id === invocationId)).toMatchObject({ attempts: 3 });
    expect(await record(invocationId)).toMatchObject({ status: "dead", attempt: 3, httpStatus: 500 });
    // One callback, for the last attempt: the function's failing answer.
    await waitUntil(() => callbacksOf(invocationId).length > 0, 10_000, "the callback");
    expect(callbacksOf(invocationId).map((c) => [c.headers["x-isle-status"], (JSON.parse(c.body) as Seen).attempt])).toEqual([["500", "3"]]);

    const retry = await fetch(`${stack.baseUrl}/v1/tenants/acme/invocations/${invocationId}/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(retry.status).toBe(202);
    // Attempt numbers continue: it runs again as attempts 4 to 6, then is dead again.
    await waitUntil(() => callbacksOf(invocationId).length > 1, 30_000, "the second callback");
    expect((JSON.parse(callbacksOf(invocationId)[1]!.body) as Seen).attempt).toBe("6");
    expect(await record(invocationId)).toMatchObject({ status: "dead", attempt: 6 });
  });

  it("executes every 202'd invocation after the gateway is SIGKILLed; only the ones running at the kill run again, as attempt 2", async () => {
    const ids: string[] = [];
    // Two run at once (ISLE_ASYNC_CONCURRENCY=2), for 1.5 s each; the others wait.
    for (let i = 0; i < 6; i++) {
      const res = await enqueue("?ms=1500", { "x-callback-url": `${receiver.url}/kill` });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { invocationId: string }).invocationId);
    }
    await new Promise((r) => setTimeout(r, 700));
    await stack.kill("gateway");
    stack.restart("gateway");
    await stack.waitReady();
    await waitUntil(() => ids.every((id) => callbacksOf(id).length > 0), 60_000, "a callback for every invocation");
    const attempts = ids.map((id) => callbacksOf(id).map((c) => Number((JSON.parse(c.body) as Seen).attempt)));
    console.log(`attempts answered per invocation: ${JSON.stringify(attempts)}`);
    for (const answered of attempts) expect(answered).toHaveLength(1);
    const reruns = attempts.filter(([attempt]) => attempt! >= 2);
    // At most the two that were running at the kill ran again, and those as attempt 2.
    expect(reruns.length).toBeLessThanOrEqual(2);
    for (const [attempt] of reruns) expect(attempt).toBe(2);
  });
});

describe.runIf(!onPostgres)("async invocations while NATS is killed and restarted", () => {
  let nats: PrivateNats;
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
  beforeAll(async () => {
    nats = await PrivateNats.start();
    receiver = await startCallbackReceiver();
    stack = await Stack.start({
      databaseUrl: process.env.DATABASE_URL,
      env: { gateway: { NATS_URL: nats.url, ISLE_CALLBACK_ALLOW: "127.0.0.1/32", ISLE_ASYNC_BACKOFF_MS: "100" } },
    });
    await stack.createTenant("acme");
    await stack.deployPublic("acme", "probe", fixture("attempts"));
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await nats?.stop();
  });

  const enqueue = () =>
    fetch(`${stack.baseUrl}/async/acme/probe`, { method: "POST", headers: { "x-callback-url": `${receiver.url}/nats` }, body: "x" });

  it("answers 503, never 202, while NATS is down, and runs every 202'd invocation once it is back", async () => {
    const accepted: string[] = [];
    const accept = async () => {
      const res = await enqueue();
      if (res.status === 202) accepted.push(((await res.json()) as { invocationId: string }).invocationId);
      return res.status;
    };
    expect(await accept()).toBe(202);
    await nats.kill();
    const during: number[] = [];
    for (let i = 0; i < 5; i++) during.push(await accept());
    expect(during).toEqual([503, 503, 503, 503, 503]);
    await nats.restart();
    const after: number[] = [];
    await waitUntil(async () => (after.push(await accept()), after.at(-1) === 202), 30_000, "a 202 once NATS is back");
    expect(after.every((s) => s === 202 || s === 503)).toBe(true);
    const called = (id: string) => receiver.received.some((r) => r.headers["x-isle-invocation-id"] === id && r.headers["x-isle-status"] === "200");
    await waitUntil(() => accepted.every(called), 30_000, "a callback for every accepted invocation");
  });
});
