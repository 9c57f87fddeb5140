import { EventEmitter } from "node:events";
import { Readable } from "node:stream";
import { Metadata } from "@grpc/grpc-js";
import { agentV1 } from "@isle/proto";
import type { FunctionRuntime, RuntimeRequest, RuntimeResponse } from "../runtimes/runtime.js";

type Frame = agentV1.InvokeFrame["frame"];

/** A request head for tenant `ten_1` and function `fn`, with the given limits. */
export function testHead(limits: Partial<agentV1.Limits> = {}, extra: Partial<agentV1.RequestHead> = {}, fn = "fn_1"): agentV1.RequestHead {
  return agentV1.RequestHead.fromPartial({
    invocationId: "inv_1",
    function: { tenantId: "ten_1", functionId: fn, deploymentId: "dep_1", artifactHash: "a".repeat(64), tenantName: "acme", functionName: "f" },
    method: "POST",
    path: "/",
    limits: { wallTimeoutMs: 30_000, ...limits },
    envRef: `ten_1:${fn}:v1`,
    deadlineUnixMs: Date.now() + 30_000,
    host: "h",
    initialWindow: 256 * 1024,
    hasBody: true,
    ...extra,
  });
}

/** Frames one channel sent, with helpers to read them. */
export class SentFrames {
  readonly frames: Frame[] = [];
  readonly send = (frame: Frame): void => void this.frames.push(frame);

  /** The trailer, whether alone or inside a whole-answer response head. */
  trailer(): agentV1.Trailer | undefined {
    const last = this.frames.find((f) => f?.$case === "trailer" || (f?.$case === "responseHead" && f.value.trailer));
    if (last?.$case === "responseHead") return last.value.trailer;
    return last?.$case === "trailer" ? last.value : undefined;
  }

  head(): agentV1.ResponseHead | undefined {
    const head = this.frames.find((f) => f?.$case === "responseHead");
    return head?.$case === "responseHead" ? head.value : undefined;
  }

  bodyBytes(): number {
    return this.frames.reduce((n, f) => n + (f?.$case === "body" ? f.value.length : 0), 0);
  }
}

/**
 * A FunctionRuntime whose answer each test writes: `handle` gets every
 * request; the default reads the whole body and answers its length.
 */
export class FakeRuntime implements FunctionRuntime {
  readonly requests: RuntimeRequest[] = [];
  handle: (request: RuntimeRequest) => Promise<RuntimeResponse> = async (request) => {
    let bytes = 0;
    if (request.body) for await (const chunk of request.body) bytes += (chunk as Buffer).length;
    return answer(String(bytes));
  };

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  status() {
    return { processes: 1, ready: 1, inFlight: 0 };
  }
  invoke(request: RuntimeRequest): Promise<RuntimeResponse> {
    this.requests.push(request);
    return this.handle(request);
  }
}

/** A 200 response with `body` (a string, or a stream) and extra headers. */
export function answer(body: string | Readable, headers: Array<[string, string]> = []): RuntimeResponse {
  return { status: 200, headers, body: typeof body === "string" ? Readable.from([Buffer.from(body)]) : body, coldStart: false };
}

/** Never answers; rejects with the abort reason once the request is abandoned. */
export function untilAborted(request: RuntimeRequest): Promise<RuntimeResponse> {
  return new Promise((_, reject) => request.signal.addEventListener("abort", () => reject(request.signal.reason as Error), { once: true }));
}

/** Stands in for the gRPC duplex call: frames in by `emit("data")`, frames out recorded. */
export class FakeCall extends EventEmitter {
  readonly written: agentV1.InvokeFrame[] = [];
  readonly metadata = new Metadata();
  writableEnded = false;
  destroyed = false;
  write(frame: agentV1.InvokeFrame): boolean {
    this.written.push(frame);
    return true;
  }
  end(): void {
    this.writableEnded = true;
  }
  frame(channel: number, frame: Frame): void {
    this.emit("data", { channel, frame });
  }
  /** The error code of the channel's trailer: "" when it succeeded, undefined while it runs. */
  outcome(channel: number): string | undefined {
    for (const { channel: c, frame } of this.written) {
      if (c !== channel) continue;
      if (frame?.$case === "trailer") return frame.value.errorCode;
      if (frame?.$case === "responseHead" && frame.value.trailer) return frame.value.trailer.errorCode;
    }
    return undefined;
  }
}
