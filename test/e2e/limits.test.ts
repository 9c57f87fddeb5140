import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

const MiB = 1024 * 1024;

/** Reads the whole body and answers how many bytes it got: a cut-off body would show as a smaller number. */
const countBody = "export default { async fetch(request) { return new Response(String((await request.arrayBuffer()).byteLength)); } };";
/** Answers ?bytes= zero bytes from a buffer, so the response declares its length. */
const fixedBody =
  "export default { fetch(request) { const n = Number(new URL(request.url).searchParams.get('bytes')); return new Response(new Uint8Array(n)); } };";

/** A request body of `size` bytes sent chunked: no Content-Length, produced as it is read. */
function chunked(size: number): RequestInit {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const chunk = new Uint8Array(Math.min(64 * 1024, size - sent)).fill(7);
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { method: "POST", body, duplex: "half" } as RequestInit;
}

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { error?: { code?: string } }).error?.code;
}

// The caps a function sets in `limits`, enforced on the real path: gateway → sidecar → agent → workerd.
describe("per-function limits", () => {
  let stack: Stack;
  const url = (path: string) => `${stack.baseUrl}${path}`;

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL, workerdProcesses: 2 });
    await stack.createTenant("acme");
    await stack.deployPublic("acme", "count", { "index.js": countBody });
    await stack.deployPublic("acme", "fixed", { "index.js": fixedBody });
    await stack.deployPublic("acme", "bytes", fixture("bytes"));
    await stack.deployPublic("acme", "slow", fixture("slow"));
    await stack.configure("acme", "count", { limits: { maxRequestBytes: MiB } });
    await stack.configure("acme", "fixed", { limits: { maxResponseBytes: MiB } });
    await stack.configure("acme", "bytes", { limits: { maxResponseBytes: MiB } });
    await stack.configure("acme", "slow", { limits: { concurrency: 2 } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** The invocation's record, once the gateway has written it. */
  async function recordOf(res: Response): Promise<{ status?: string; errorCode?: string; agentId?: string | null }> {
    const id = res.headers.get("x-isle-invocation-id");
    let record = {};
    await waitUntil(
      async () => {
        const found = await stack.operator(`/v1/tenants/acme/invocations/${id}`);
        if (found.status === 200) record = (await found.json()) as typeof record;
        return found.status === 200;
      },
      5000,
      `the record of ${id}`,
    );
    return record;
  }

  describe("request body", () => {
    it("takes a body at the cap whole, with a Content-Length or chunked", async () => {
      const declared = await fetch(url("/fn/acme/count"), { method: "POST", body: new Uint8Array(MiB) });
      expect(declared.status).toBe(200);
      expect(await declared.text()).toBe(String(MiB));
      const streamed = await fetch(url("/fn/acme/count"), chunked(MiB));
      expect(streamed.status).toBe(200);
      expect(await streamed.text()).toBe(String(MiB));
    });

    it("refuses a body whose Content-Length is over the cap with 413 payload_too_large", async () => {
      const res = await fetch(url("/fn/acme/count"), { method: "POST", body: new Uint8Array(MiB + 1) });
      expect(res.status).toBe(413);
      expect(await errorCode(res)).toBe("payload_too_large");
      // Refused by the gateway from the header alone: no agent was asked.
      expect(await recordOf(res)).toMatchObject({ errorCode: "payload_too_large", agentId: null });
    });

    it("fails a chunked body that grows past the cap with 413: the function never answers as if it had it whole", async () => {
      const res = await fetch(url("/fn/acme/count"), chunked(4 * MiB));
      expect(res.status).toBe(413);
      expect(await errorCode(res)).toBe("payload_too_large");
      // Only the agent counts bytes as they arrive.
      expect(await recordOf(res)).toMatchObject({ errorCode: "payload_too_large", agentId: "e2e" });
      // The function still serves the next request.
      expect(await (await fetch(url("/fn/acme/count"), { method: "POST", body: "abc" })).text()).toBe("3");
    });

    it("keeps a kept-alive connection serving after refusing a body mid-stream", async () => {
      // Raw HTTP/1.1 on one socket: the second request must be answered on the same connection.
      const socket = connect(Number(new URL(stack.baseUrl).port), "127.0.0.1");
      let received = "";
      socket.on("data", (data) => (received += String(data)));
      socket.write("POST /fn/acme/count HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n");
      const chunk = Buffer.alloc(64 * 1024, 7);
      for (let i = 0; i < 32; i++) {
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        if (!socket.write("\r\n")) await new Promise((r) => socket.once("drain", r));
      }
      socket.write("0\r\n\r\n");
      await waitUntil(() => received.includes("payload_too_large"), 5000, "the 413");
      socket.write("POST /fn/acme/count HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc");
      try {
        await waitUntil(() => /HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n3$/.test(received), 3000, "the next answer on the same connection");
      } finally {
        socket.destroy();
      }
    });
  });

  describe("response body", () => {
    it("answers 502 response_too_large when the response declares a length over the cap", async () => {
      const within = await fetch(url(`/fn/acme/fixed?bytes=${MiB}`));
      expect(within.status).toBe(200);
      expect((await within.arrayBuffer()).byteLength).toBe(MiB);
      const over = await fetch(url(`/fn/acme/fixed?bytes=${MiB + 1}`));
      expect(over.status).toBe(502);
      expect(await errorCode(over)).toBe("response_too_large");
    });

    it("breaks a streamed response off at the cap, so the client never takes it for a whole one", async () => {
      const res = await fetch(url("/fn/acme/bytes?mb=8"));
      expect(res.status).toBe(200); // the head left before the body grew too large
      let received = 0;
      const reading = (async () => {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
      })();
      await expect(reading).rejects.toThrow();
      expect(received).toBeLessThanOrEqual(MiB);
      expect(await recordOf(res)).toMatchObject({ status: "failed", errorCode: "response_too_large" });
    });
  });

  describe("concurrency", () => {
    it("refuses the excess at once with 429 concurrency_limit and Retry-After while the allowed ones succeed", async () => {
      expect((await fetch(url("/fn/acme/slow?ms=0"))).status).toBe(200); // load the isolate first
      const allowed = [fetch(url("/fn/acme/slow?ms=2000")), fetch(url("/fn/acme/slow?ms=2000"))];
      await new Promise((r) => setTimeout(r, 500));
      const started = Date.now();
      const excess = await Promise.all([1, 2, 3].map(() => fetch(url("/fn/acme/slow?ms=0"))));
      expect(Date.now() - started).toBeLessThan(1000);
      for (const res of excess) {
        expect(res.status).toBe(429);
        expect(res.headers.get("retry-after")).toBe("1");
        expect(await errorCode(res)).toBe("concurrency_limit");
      }
      for (const res of await Promise.all(allowed)) {
        expect(res.status).toBe(200);
        expect(await res.text()).toBe("slept 2000");
      }
      // Both finished: their slots are free again.
      const after = await Promise.all([fetch(url("/fn/acme/slow?ms=0")), fetch(url("/fn/acme/slow?ms=0"))]);
      expect(after.map((r) => r.status)).toEqual([200, 200]);
    });

    it("frees the slots of requests whose clients went away, round after round", async () => {
      for (let round = 0; round < 3; round++) {
        // A slot is given back when the agent ends the invocation, a moment after the client has
        // read its answer: start each round with both slots free, so neither of its requests is refused.
        await waitUntil(
          async () => (await Promise.all([fetch(url("/fn/acme/slow?ms=0")), fetch(url("/fn/acme/slow?ms=0"))])).every((r) => r.status === 200),
          5000,
          "both slots to be free",
        );
        const clients = [new AbortController(), new AbortController()];
        const cut = clients.map((c) => fetch(url("/fn/acme/slow?ms=30000"), { signal: c.signal }).catch(() => "aborted"));
        // Both are running once a third is refused.
        await waitUntil(async () => (await fetch(url("/fn/acme/slow?ms=0"))).status === 429, 5000, "both slots to be taken");
        for (const c of clients) c.abort();
        expect(await Promise.all(cut)).toEqual(["aborted", "aborted"]);
        // Cancellation travels gateway → sidecar → agent; then both slots take new work again.
        await waitUntil(async () => (await fetch(url("/fn/acme/slow?ms=0"))).status === 200, 5000, "a slot to be free");
        const next = await Promise.all([fetch(url("/fn/acme/slow?ms=300")), fetch(url("/fn/acme/slow?ms=300"))]);
        expect(next.map((r) => r.status), `round ${round}`).toEqual([200, 200]);
      }
    });
  });
});
