import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { createLogger } from "@isle/telemetry";
import { Quarantine } from "../quarantine.js";
import { ServerChannel } from "./server-channel.js";
import { FakeRuntime, SentFrames, answer, testHead, untilAborted } from "./test-helpers.js";
import type { agentV1 } from "@isle/proto";

const logger = createLogger({ service: "test", level: "silent" });
const kb = (n: number) => Buffer.alloc(n * 1024, 1);

function open(head: agentV1.RequestHead) {
  const sent = new SentFrames();
  const channel = new ServerChannel(head, sent.send, logger, new Quarantine());
  return { sent, channel };
}

/** A response body of `chunks` chunks of 16 KiB that notes whether it was stopped early. */
function generated(chunks: number): { body: Readable; destroyedEarly: () => boolean } {
  let produced = 0;
  const body = new Readable({
    read() {
      this.push(produced++ < chunks ? kb(16) : null);
    },
  });
  return { body, destroyedEarly: () => body.destroyed && !body.readableEnded };
}

describe("ServerChannel request body cap", () => {
  it("refuses a body whose Content-Length is over the cap without running the function", async () => {
    const runtime = new FakeRuntime();
    const { sent, channel } = open(testHead({ maxRequestBytes: 1024 }, { headers: [{ name: "Content-Length", value: "1025" }] }));
    await channel.run(runtime);
    expect(sent.trailer()?.errorCode).toBe("payload_too_large");
    expect(sent.head()).toBeUndefined();
    expect(runtime.requests).toHaveLength(0);
  });

  it("fails a chunked body that grows past the cap: the function reads an error, never a clean end", async () => {
    const runtime = new FakeRuntime();
    let readerSaw: "end" | "error" | undefined;
    runtime.handle = async (request) => {
      try {
        for await (const _ of request.body!);
        readerSaw = "end";
      } catch {
        readerSaw = "error";
      }
      return answer("read it all");
    };
    const { sent, channel } = open(testHead({ maxRequestBytes: 40 * 1024 }));
    const done = channel.run(runtime);
    for (let i = 0; i < 3; i++) channel.addBody(kb(16)); // 48 KiB: the third chunk passes the cap
    channel.endBody();
    await done;
    expect(readerSaw).toBe("error");
    expect(sent.trailer()?.errorCode).toBe("payload_too_large");
    expect(sent.head()).toBeUndefined();
    expect(runtime.requests[0]?.signal.aborted).toBe(true);
  });

  it("passes a body at the cap whole", async () => {
    const runtime = new FakeRuntime();
    const { sent, channel } = open(testHead({ maxRequestBytes: 32 * 1024 }, { headers: [{ name: "content-length", value: String(32 * 1024) }] }));
    const done = channel.run(runtime);
    channel.addBody(kb(16));
    channel.addBody(kb(16));
    channel.endBody();
    await done;
    expect(sent.trailer()?.errorCode).toBe("");
    expect(sent.head()?.status).toBe(200);
  });
});

describe("ServerChannel response body cap", () => {
  it("answers response_too_large before the head when the declared length is over the cap", async () => {
    const runtime = new FakeRuntime();
    const response = generated(4);
    runtime.handle = async () => answer(response.body, [["content-length", String(64 * 1024)]]);
    const { sent, channel } = open(testHead({ maxResponseBytes: 32 * 1024 }, { hasBody: false }));
    await channel.run(runtime);
    expect(sent.head()).toBeUndefined();
    expect(sent.trailer()?.errorCode).toBe("response_too_large");
    expect(response.destroyedEarly()).toBe(true);
  });

  it("stops a streamed response at the cap after its head: no byte past it, the trailer says why", async () => {
    const runtime = new FakeRuntime();
    const response = generated(100);
    runtime.handle = async () => answer(response.body);
    const { sent, channel } = open(testHead({ maxResponseBytes: 40 * 1024 }, { hasBody: false }));
    await channel.run(runtime);
    expect(sent.head()?.status).toBe(200);
    expect(sent.bodyBytes()).toBe(32 * 1024); // the two chunks within the cap; the third would pass it
    expect(sent.trailer()?.errorCode).toBe("response_too_large");
    expect(response.destroyedEarly()).toBe(true);
    // Abandoned like a cancelled request, so the runtime stops the function and checks its process.
    expect(runtime.requests[0]?.signal.aborted).toBe(true);
  });

  it("sends a response of exactly the cap whole, and any size with no cap", async () => {
    for (const maxResponseBytes of [64 * 1024, 0]) {
      const runtime = new FakeRuntime();
      runtime.handle = async () => answer(generated(4).body);
      const { sent, channel } = open(testHead({ maxResponseBytes }, { hasBody: false }));
      await channel.run(runtime);
      expect(sent.bodyBytes()).toBe(64 * 1024);
      expect(sent.trailer()?.errorCode).toBe("");
    }
  });
});

describe("ServerChannel deadline", () => {
  it("stops the runtime's call at the head's deadline and answers timeout, however long the function would run", async () => {
    const runtime = new FakeRuntime();
    runtime.handle = untilAborted;
    const { sent, channel } = open(testHead({}, { deadlineUnixMs: Date.now() + 50 }));
    await channel.run(runtime);
    const signal = runtime.requests[0]?.signal;
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(IsleError);
    expect((signal?.reason as IsleError).code).toBe("timeout");
    expect(sent.trailer()?.errorCode).toBe("timeout");
  });
});

/** A runtime answer whose body is already all written, as the workerd runtime hands over a small one. */
function completeAnswer(body: Buffer): { status: number; headers: Array<[string, string]>; body: Readable; coldStart: boolean } {
  const stream = new PassThrough();
  stream.end(body);
  return { status: 201, headers: [["content-type", "text/plain"]], body: stream, coldStart: true };
}

function openWhole(head: agentV1.RequestHead) {
  const sent = new SentFrames();
  const channel = new ServerChannel(head, sent.send, logger, new Quarantine(), undefined, undefined, true);
  return { sent, channel };
}

describe("ServerChannel whole answers", () => {
  it("sends a complete small answer as one response head carrying body, trailer and logs", async () => {
    const runtime = new FakeRuntime();
    runtime.handle = async (request) => {
      request.logs?.add([{ unixMs: 1, level: "log", message: "hello from the function" }], false);
      await new Promise((r) => setImmediate(r)); // the writer finishes before the channel looks
      return completeAnswer(Buffer.from("hello world"));
    };
    const { sent, channel } = openWhole(testHead({}, { hasBody: false }));
    await channel.run(runtime);
    expect(sent.frames).toHaveLength(1);
    const head = sent.head();
    expect(head?.status).toBe(201);
    expect(head?.coldStart).toBe(true);
    expect(head?.headers).toEqual([{ name: "content-type", value: "text/plain" }]);
    expect(head?.body.toString()).toBe("hello world");
    expect(head?.trailer?.errorCode).toBe("");
    expect(head?.trailer?.logs.map((l) => l.message)).toEqual(["hello from the function"]);
  });

  it("lets a whole answer's stream end and close by itself (the runtime's registry ends the invocation at 'close')", async () => {
    const runtime = new FakeRuntime();
    let body: Readable | undefined;
    // Handed over straight after end(): the writer's final step may still be on its way.
    runtime.handle = async () => {
      const answer = completeAnswer(Buffer.from("hello world"));
      body = answer.body;
      return answer;
    };
    const { sent, channel } = openWhole(testHead({}, { hasBody: false }));
    await channel.run(runtime);
    expect(sent.frames).toHaveLength(1);
    if (!body!.closed) await new Promise((resolve) => body!.once("close", resolve));
    expect(body!.readableEnded).toBe(true);
  });

  it("sends an empty complete answer as one frame too", async () => {
    const runtime = new FakeRuntime();
    runtime.handle = async () => {
      const answer = completeAnswer(Buffer.alloc(0));
      await new Promise((r) => setImmediate(r));
      return answer;
    };
    const { sent, channel } = openWhole(testHead({}, { hasBody: false }));
    await channel.run(runtime);
    expect(sent.frames).toHaveLength(1);
    expect(sent.head()?.body.length).toBe(0);
    expect(sent.head()?.trailer).toBeDefined();
  });

  it("sends head, body and trailer when the caller did not ask for whole answers", async () => {
    const runtime = new FakeRuntime();
    runtime.handle = async () => {
      const answer = completeAnswer(Buffer.from("hello world"));
      await new Promise((r) => setImmediate(r));
      return answer;
    };
    const { sent, channel } = open(testHead({}, { hasBody: false }));
    await channel.run(runtime);
    expect(sent.frames.map((f) => f?.$case)).toEqual(["responseHead", "body", "trailer"]);
    expect(sent.head()?.trailer).toBeUndefined();
    expect(sent.bodyBytes()).toBe(11);
  });

  it("streams an answer that is not complete yet, too large, past the cap or past the window", async () => {
    const cases: Array<{ limits: Partial<agentV1.Limits>; extra: Partial<agentV1.RequestHead>; body: () => Readable }> = [
      // still being written
      { limits: {}, extra: {}, body: () => Readable.from([Buffer.from("a"), Buffer.from("b")]) },
      // over 64 KiB
      { limits: {}, extra: {}, body: () => completeAnswer(kb(65)).body },
      // over the response cap (the trailer then says why)
      { limits: { maxResponseBytes: 1024 }, extra: {}, body: () => completeAnswer(kb(2)).body },
      // more than the window allows at once
      { limits: {}, extra: { initialWindow: 1024 }, body: () => completeAnswer(kb(2)).body },
    ];
    for (const { limits, extra, body } of cases) {
      const runtime = new FakeRuntime();
      runtime.handle = async () => {
        const stream = body();
        await new Promise((r) => setImmediate(r));
        return { status: 200, headers: [], body: stream, coldStart: false };
      };
      const { sent, channel } = openWhole(testHead(limits, { hasBody: false, ...extra }));
      const done = channel.run(runtime);
      // Grant window as the caller would, for the small-window case — once the head is out, as
      // the caller would: a grant before the agent looked at the answer (a slow tick on a busy
      // machine) would make the small window large enough for a whole answer.
      const granting = setInterval(() => sent.frames.length > 0 && channel.grant(1024), 1);
      await done;
      clearInterval(granting);
      expect(sent.frames[0]?.$case).toBe("responseHead");
      expect(sent.head()?.trailer).toBeUndefined();
      expect(sent.frames.at(-1)?.$case).toBe("trailer");
    }
  });
});
