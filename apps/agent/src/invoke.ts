import { once } from "node:events";
import { PassThrough, type Readable } from "node:stream";
import type * as grpc from "@grpc/grpc-js";
import { IsleError } from "@isle/errors";
import type { agentV1 } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import type { FunctionRuntime, RuntimeRequest } from "./runtimes/runtime.js";

type Frame = agentV1.InvokeFrame;
type Call = grpc.ServerDuplexStream<Frame, Frame>;

/** Methods whose requests carry no body: the runtime gets none. */
const bodiless = new Set(["GET", "HEAD"]);

/** Counts what runs now, for load reports and drain. */
export interface InFlight {
  count: number;
}

/**
 * Serves Agent.Invoke: reads the request head, streams the body into the
 * runtime, streams the answer back as frames, ends with a trailer. Every
 * failure becomes a trailer error code; nothing is thrown at grpc-js.
 */
export function createInvokeHandler(runtime: FunctionRuntime, inFlight: InFlight, logger: Logger) {
  return function invoke(call: Call): void {
    const cancel = new AbortController();
    let head: agentV1.RequestHead | undefined;
    let body: PassThrough | undefined;
    call.on("cancelled", () => cancel.abort(new IsleError("upstream_failed", "caller cancelled")));
    call.on("error", () => cancel.abort(new IsleError("upstream_failed", "call failed")));

    call.on("data", (frame: Frame) => {
      const f = frame.frame;
      if (!head) {
        if (f?.$case !== "requestHead") {
          finish(call, new IsleError("bad_request", "the first frame must be a request head"));
          return;
        }
        head = f.value;
        body = bodiless.has(head.method.toUpperCase()) ? undefined : new PassThrough();
        void run(head, body);
        return;
      }
      if (f?.$case === "body" && body && !body.destroyed) {
        // Backpressure: stop reading frames until the runtime has taken these bytes.
        if (!body.write(f.value)) {
          call.pause();
          body.once("drain", () => call.resume());
        }
      }
    });
    call.on("end", () => body?.end());

    async function run(requestHead: agentV1.RequestHead, requestBody: Readable | undefined): Promise<void> {
      const started = Date.now();
      inFlight.count++;
      const deadline = requestHead.deadlineUnixMs > 0 ? requestHead.deadlineUnixMs - started : 30_000;
      const timer = setTimeout(
        () => cancel.abort(new IsleError("timeout", "the function did not answer before its deadline")),
        Math.max(deadline, 0),
      );
      const log = logger.child({ invocationId: requestHead.invocationId, tenantId: requestHead.function?.tenantId });
      try {
        const response = await runtime.invoke(toRuntimeRequest(requestHead, requestBody, cancel.signal));
        call.write({
          frame: {
            $case: "responseHead",
            value: { status: response.status, headers: response.headers.map(([name, value]) => ({ name, value })), coldStart: response.coldStart },
          },
        });
        for await (const chunk of response.body) {
          if (!call.write({ frame: { $case: "body", value: chunk as Buffer } })) await drainOrAbort(call, cancel.signal);
        }
        finish(call, undefined, Date.now() - started);
      } catch (err) {
        const error = toIsleError(err, cancel.signal);
        if (error.code === "internal") log.error({ err }, "invoke failed");
        finish(call, error, Date.now() - started);
        requestBody?.destroy();
      } finally {
        clearTimeout(timer);
        inFlight.count--;
      }
    }
  };
}

function toRuntimeRequest(head: agentV1.RequestHead, body: Readable | undefined, signal: AbortSignal): RuntimeRequest {
  const fn = head.function;
  if (!fn) throw new IsleError("bad_request", "the request head names no function");
  return {
    isolateId: `${fn.tenantId}:${fn.deploymentId}:${fn.artifactHash}`,
    artifactHash: fn.artifactHash,
    invocationId: head.invocationId,
    method: head.method,
    url: `https://${head.host || "localhost"}${head.path}`,
    headers: head.headers.map((h) => [h.name, h.value]),
    body: body ?? null,
    signal,
  };
}

/** The abort reason when the call was cancelled or timed out; else the error itself. */
function toIsleError(err: unknown, signal: AbortSignal): IsleError {
  if (signal.aborted && signal.reason instanceof IsleError) return signal.reason;
  if (err instanceof IsleError) return err;
  return new IsleError("internal", "the agent failed to run the function");
}

async function drainOrAbort(call: Call, signal: AbortSignal): Promise<void> {
  await once(call, "drain", { signal });
}

/** Sends the trailer and ends the call; safe to call twice. */
function finish(call: Call, error: IsleError | undefined, wallMs = 0): void {
  if (call.writableEnded || call.destroyed) return;
  call.write({
    frame: {
      $case: "trailer",
      value: { wallMs, cpuMs: 0, errorCode: error?.code ?? "", errorMessage: error?.message ?? "" },
    },
  });
  call.end();
}
