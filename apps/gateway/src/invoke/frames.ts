import { once } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { IsleError, isErrorCode } from "@isle/errors";
import type { agentV1 } from "@isle/proto";

type Frame = agentV1.InvokeFrame;
export type InvokeCall = grpc.ClientDuplexStream<Frame, Frame>;

/** Response statuses that may not carry a body (Fetch standard). */
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

/** Hop-by-hop headers: they describe one connection and are never forwarded. */
export const hopByHopHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
]);

/** Streams a request body into the call as body frames, honouring backpressure. */
export async function pumpRequestBody(body: ReadableStream<Uint8Array> | null, call: InvokeCall): Promise<void> {
  if (body) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (!call.write({ frame: { $case: "body", value: chunk } })) await once(call, "drain");
    }
  }
  call.end();
}

/** The gRPC status of a call that ended without a trailer, as an Isle error. */
export function statusToError(err: grpc.ServiceError): IsleError {
  switch (err.code) {
    case 14: // UNAVAILABLE
      return new IsleError("unavailable", "the function's node is unavailable; retry shortly");
    case 4: // DEADLINE_EXCEEDED
      return new IsleError("timeout", "the function did not answer before its deadline");
    default:
      return new IsleError("upstream_failed", "the function's node failed while serving the request");
  }
}

export interface FramedResponse {
  response: Response;
  /** True when the runtime had to load the isolate for this request. */
  coldStart: boolean;
}

/**
 * Turns the frames coming back on an Invoke call into a fetch Response whose
 * body streams: frames are read only as fast as the client takes the body.
 * Resolves at the response head; rejects with an IsleError when the call fails
 * before it. A failure after the head errors the body stream, which the HTTP
 * server turns into an aborted response (the client sees a truncated body,
 * never a false success).
 */
export function readResponse(call: InvokeCall, method: string): Promise<FramedResponse> {
  return new Promise((resolve, reject) => {
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    let settled = false;
    let trailerSeen = false;
    const fail = (error: IsleError) => {
      if (!settled) {
        settled = true;
        reject(error);
      } else {
        try {
          controller?.error(error);
        } catch {
          // already closed or errored
        }
      }
    };

    call.on("data", (frame: Frame) => {
      const f = frame.frame;
      switch (f?.$case) {
        case "responseHead": {
          const headers = new Headers();
          for (const { name, value } of f.value.headers) {
            if (!hopByHopHeaders.has(name.toLowerCase())) headers.append(name, value);
          }
          const noBody = nullBodyStatuses.has(f.value.status) || method === "HEAD";
          const body = noBody
            ? null
            : new ReadableStream<Uint8Array>(
                {
                  start: (c) => void (controller = c),
                  pull: () => void call.resume(),
                  cancel: () => call.cancel(),
                },
                { highWaterMark: 1 },
              );
          settled = true;
          resolve({ response: new Response(body, { status: f.value.status, headers }), coldStart: f.value.coldStart });
          return;
        }
        case "body":
          if (!controller) return;
          controller.enqueue(f.value);
          if ((controller.desiredSize ?? 0) <= 0) call.pause();
          return;
        case "trailer": {
          trailerSeen = true;
          const code = f.value.errorCode;
          if (code) {
            fail(new IsleError(isErrorCode(code) ? code : "upstream_failed", f.value.errorMessage || "the function failed"));
          } else if (controller) {
            controller.close();
          } else if (!settled) {
            fail(new IsleError("upstream_failed", "the node ended the call without a response"));
          }
          return;
        }
        default:
          return;
      }
    });
    call.on("error", (err: grpc.ServiceError) => fail(statusToError(err)));
    call.on("end", () => {
      if (!trailerSeen) fail(new IsleError("upstream_failed", "the node ended the call without a response"));
    });
  });
}
