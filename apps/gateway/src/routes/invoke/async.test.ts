import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CidrList } from "@isle/config";
import { saveInvocation } from "@isle/db";
import { IsleError } from "@isle/errors";
import { createQueue, type InvocationQueue, type QueueMessage } from "@isle/queue";
import { errorOf, operatorToken, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";
import type { AsyncPayload } from "../../async/async-payload.js";

/** A queue that remembers what it was given and answers as the test says. */
class ScriptedQueue {
  messages: QueueMessage[] = [];
  answer: () => Promise<void> = async () => undefined;
  async enqueue(message: QueueMessage) {
    await this.answer();
    this.messages.push(message);
    return { id: message.id, duplicate: false };
  }
  async close() {}
}

const hello = { "index.js": "export default { fetch: () => new Response('hi') }" };

describe("POST /async/:tenant/:function/*", () => {
  let gw: TestGateway;
  const scripted = new ScriptedQueue();
  let invokeKey: string;
  let readKey: string;
  // Names a test resolves: one public, one private address.
  const lookup = async (host: string) => (host === "hooks.example" ? ["93.184.216.34"] : host === "inside.example" ? ["10.1.2.3"] : []);
  beforeAll(async () => {
    gw = await startTestGateway({
      async: () => ({
        queue: scripted as unknown as InvocationQueue,
        saveRecord: async () => undefined,
        callbackAllow: CidrList.parse("127.0.0.1/32"),
        lookup,
      }),
    });
    await gw.createTenant("acme");
    expect((await gw.deploy("acme", "hello", hello)).status).toBe(201);
    invokeKey = (await gw.createKey("acme", { name: "inv", scopes: ["invoke"] })).key;
    readKey = (await gw.createKey("acme", { name: "read", scopes: ["read"] })).key;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });
  const post = (path: string, headers: Record<string, string> = {}, body?: string) =>
    gw.request(path, { method: "POST", headers, ...(body !== undefined ? { body } : {}) });

  it("answers 202 only once the queue has stored the invocation", async () => {
    let store!: () => void;
    scripted.answer = () => new Promise<void>((resolve) => (store = resolve));
    let settled = false;
    const pending = post("/async/acme/hello/path?x=1", { authorization: `Bearer ${invokeKey}` }, "payload").then((res) => {
      settled = true;
      return res;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    store();
    const res = await pending;
    scripted.answer = async () => undefined;
    expect(res.status).toBe(202);
    const { invocationId } = (await res.json()) as { invocationId: string };
    expect(invocationId).toMatch(/^inv_/);
    expect(res.headers.get("location")).toBe(`/v1/tenants/acme/invocations/${invocationId}`);
    const stored = scripted.messages.at(-1)!;
    expect(stored.id).toBe(invocationId);
    const payload = stored.payload as AsyncPayload;
    expect(payload).toMatchObject({ method: "POST", path: "/path", query: "?x=1", functionName: "hello", tenantName: "acme" });
    expect(Buffer.from(payload.body!, "base64").toString()).toBe("payload");
  });

  it("answers 404 for a function or tenant that does not exist, and stores nothing", async () => {
    const before = scripted.messages.length;
    for (const path of ["/async/acme/nope", "/async/nobody/hello", "/async/acme/hello/../x"]) {
      const res = await post(path, { authorization: `Bearer ${invokeKey}` });
      expect(res.status, path).toBe(404);
    }
    expect(scripted.messages.length).toBe(before);
  });

  it("answers 503 unavailable, never 202, when the queue cannot store", async () => {
    scripted.answer = async () => {
      throw new IsleError("unavailable", "the queue is unreachable");
    };
    const res = await post("/async/acme/hello", { authorization: `Bearer ${invokeKey}` });
    scripted.answer = async () => undefined;
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("unavailable");
  });

  it("authorises like a sync invoke: no key 401, a key without invoke 403", async () => {
    expect((await post("/async/acme/hello")).status).toBe(401);
    expect((await post("/async/acme/hello", { authorization: `Bearer ${readKey}` })).status).toBe(403);
  });

  it("never stores the API key or other credentials", async () => {
    const res = await post("/async/acme/hello", { "x-api-key": invokeKey, authorization: "Basic c2VjcmV0", "x-custom": "kept", "x-isle-attempt": "9" });
    expect(res.status).toBe(202);
    const payload = scripted.messages.at(-1)!.payload as AsyncPayload;
    const text = JSON.stringify(payload);
    expect(text).not.toContain(invokeKey);
    expect(text).not.toContain("c2VjcmV0");
    expect(payload.headers.map(([n]) => n)).not.toContain("x-isle-attempt");
    expect(payload.headers).toContainEqual(["x-custom", "kept"]);
  });

  it("checks X-Callback-Url: http(s) only, no loopback, private or link-local address unless allowlisted", async () => {
    const withCallback = (url: string) => post("/async/acme/hello", { authorization: `Bearer ${invokeKey}`, "x-callback-url": url });
    for (const bad of [
      "ftp://93.184.216.34/",
      "not a url",
      "http://10.0.0.1/",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]:8080/",
      "http://[::ffff:127.0.0.2]/",
      "http://localhost/",
      "http://inside.example/hook",
      "http://user:pw@93.184.216.34/",
    ]) {
      const res = await withCallback(bad);
      expect(res.status, bad).toBe(400);
      expect((await errorOf(res)).message, bad).toMatch(/X-Callback-Url/);
    }
    for (const good of ["https://hooks.example/done", "http://93.184.216.34:8080/x", "http://127.0.0.1:9999/allowlisted"]) {
      const res = await withCallback(good);
      expect(res.status, good).toBe(202);
      expect((scripted.messages.at(-1)!.payload as AsyncPayload).callbackUrl).toBe(new URL(good).href);
    }
  });

  it("refuses a body over the function's request cap with 413", async () => {
    const put = await gw.operator("/v1/tenants/acme/functions/small", { method: "PUT", json: { limits: { maxRequestBytes: 1024 } } });
    expect(put.status).toBe(200);
    expect((await gw.deploy("acme", "small", hello)).status).toBe(201);
    expect((await post("/async/acme/small", { authorization: `Bearer ${invokeKey}` }, "x".repeat(1000))).status).toBe(202);
    const res = await post("/async/acme/small", { authorization: `Bearer ${invokeKey}` }, "x".repeat(1025));
    expect(res.status).toBe(413);
  });
});

describe("async invocations over a table queue", () => {
  let gw: TestGateway;
  let queue: InvocationQueue;
  let invokeKey: string;
  let readKey: string;
  let otherKey: string;
  beforeAll(async () => {
    gw = await startTestGateway({
      async: (database) => {
        queue = createQueue({ database, name: "route-tests", maxAttempts: 1 });
        return { queue, saveRecord: (row) => saveInvocation(database.db, row), callbackAllow: CidrList.parse("") };
      },
    });
    await gw.createTenant("acme");
    await gw.createTenant("other");
    expect((await gw.deploy("acme", "hello", hello)).status).toBe(201);
    invokeKey = (await gw.createKey("acme", { name: "inv", scopes: ["invoke"] })).key;
    readKey = (await gw.createKey("acme", { name: "read", scopes: ["read"] })).key;
    otherKey = (await gw.createKey("other", { name: "inv", scopes: ["invoke", "admin"] })).key;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });
  const enqueue = (headers: Record<string, string> = {}) =>
    gw.request("/async/acme/hello", { method: "POST", headers: { authorization: `Bearer ${invokeKey}`, ...headers } });

  it("answers the same invocation id again for a repeated Idempotency-Key", async () => {
    const first = await enqueue({ "idempotency-key": "order-42" });
    const again = await enqueue({ "idempotency-key": "order-42" });
    const other = await enqueue({ "idempotency-key": "order-43" });
    expect([first.status, again.status, other.status]).toEqual([202, 202, 202]);
    const [a, b, c] = (await Promise.all([first.json(), again.json(), other.json()])) as Array<{ invocationId: string }>;
    expect(b!.invocationId).toBe(a!.invocationId);
    expect(c!.invocationId).not.toBe(a!.invocationId);
    expect(again.headers.get("location")).toBe(`/v1/tenants/acme/invocations/${a!.invocationId}`);
  });

  it("shows a queued invocation at its Location", async () => {
    const res = await enqueue();
    const location = res.headers.get("location")!;
    const record = await gw.request(location, {}, readKey);
    expect(record.status).toBe(200);
    expect(await record.json()).toMatchObject({ mode: "async", status: "queued", attempt: 0, trigger: "queue" });
  });

  it("lists dead letters to their tenant and retries them by id", async () => {
    const res = await enqueue();
    const { invocationId } = (await res.json()) as { invocationId: string };
    // Every other queued message is consumed too: each dies on its one attempt.
    const consumer = queue.consume(async () => {
      throw new Error("the function answered 500");
    });
    let dead: Array<{ id: string; function: string; attempts: number; error: string }> = [];
    for (let i = 0; i < 100 && !dead.some((d) => d.id === invocationId); i++) {
      await new Promise((r) => setTimeout(r, 50));
      const list = await gw.request("/v1/tenants/acme/dead-letters?limit=1000", {}, invokeKey);
      expect(list.status).toBe(200);
      dead = ((await list.json()) as { deadLetters: typeof dead }).deadLetters;
    }
    await consumer.stop();
    expect(dead.find((d) => d.id === invocationId)).toMatchObject({ function: "hello", attempts: 1, error: "the function answered 500" });

    expect((await gw.request("/v1/tenants/acme/dead-letters", {}, readKey)).status).toBe(403);
    expect((await gw.request("/v1/tenants/acme/dead-letters", {}, otherKey)).status).toBe(401);
    const theirs = await gw.request("/v1/tenants/other/dead-letters", {}, otherKey);
    expect(((await theirs.json()) as { deadLetters: unknown[] }).deadLetters).toEqual([]);

    const retry = (tenant: string, key: string) => gw.request(`/v1/tenants/${tenant}/invocations/${invocationId}/retry`, { method: "POST" }, key);
    expect((await retry("other", otherKey)).status).toBe(404);
    expect((await retry("acme", readKey)).status).toBe(403);
    const again = await retry("acme", invokeKey);
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ invocationId });
    expect((await retry("acme", invokeKey)).status).toBe(404);
    expect((await retry("acme", operatorToken)).status).toBe(404);
  });
});
