import { Readable } from "node:stream";
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
