import type { Readable, Writable } from "node:stream";
import { IsleError } from "@isle/errors";
import { SendWindow, maxWholeAnswerBytes, withinWindow, type agentV1 } from "@isle/proto";
import type { Logger, Tracing } from "@isle/telemetry";
import { defaultMaxSubrequests, type FunctionRuntime, type RuntimeRequest } from "../runtimes/runtime.js";
import { isolateOf } from "../loaded-functions.js";
import { InvocationLog } from "../logs/invocation-log.js";
import type { Quarantine } from "../quarantine.js";
import { declaredLength, declaredResponseLength, isOverCap, requestTooLarge, responseTooLarge } from "./body-caps.js";
import { ChannelBody } from "./channel-body.js";
import { InvocationSpans, withTraceHeaders } from "./invocation-spans.js";

type Frame = agentV1.InvokeFrame["frame"];

const noBytes = Buffer.alloc(0);

/** Default deadline when a head carries none. */
const fallbackDeadlineMs = 30_000;

/**
 * One invocation on a multiplexed Invoke stream, agent side: feeds the
 * request body to the runtime, streams the answer back within the caller's
 * window, ends with a trailer. Every failure becomes a trailer error code.
 *
 * It enforces the head's body caps: a request body past `maxRequestBytes`
 * (declared, or counted as it arrives) and a response body past
 * `maxResponseBytes` cancel the invocation like an abandoned one, so the
 * runtime stops it and the watchdog checks its process.
 *
 * The function's console output rides on the trailer; what it writes after
 * the trailer (waitUntil work), and all of it when the caller gave up and
 * will not read the trailer, goes to `sendLate` as LateLogs.
 *
 * On a stream whose caller accepts whole answers, an answer already complete
 * when the runtime hands it over (small, within the window and the cap) goes
 * out as one response head carrying its body and trailer.
 */
export class ServerChannel {
  private readonly abort = new AbortController();
  private readonly sendWindow: SendWindow;
  private readonly body: ChannelBody | undefined;
  private readonly maxRequestBytes: number;
  private readonly maxResponseBytes: number;
  private closed = false;
  private callerLeft = false;
  /** Present only when tracing is on. */
  private readonly spans: InvocationSpans | undefined;
  private readonly log = new InvocationLog();

  constructor(
    private readonly head: agentV1.RequestHead,
    private readonly send: (frame: Frame) => void,
    private readonly logger: Logger,
    private readonly quarantine: Quarantine,
    tracing?: Tracing,
    private readonly sendLate?: (logs: agentV1.LateLogs) => void,
    /** The caller accepts a response head that is the whole answer (agent.proto, ResponseHead.trailer). */
    private readonly wholeAnswers = false,
  ) {
    this.spans = tracing?.enabled ? new InvocationSpans(tracing.tracer, head, "workerd") : undefined;
    this.sendWindow = new SendWindow(head.initialWindow);
    this.maxRequestBytes = head.limits?.maxRequestBytes ?? 0;
    this.maxResponseBytes = head.limits?.maxResponseBytes ?? 0;
    this.body = head.hasBody
      ? new ChannelBody(head.initialWindow, (bytes) => this.send({ $case: "windowUpdate", value: { bytes } }), {
          maxBytes: this.maxRequestBytes,
          onOverflow: (error) => this.cancel(error),
        })
      : undefined;
  }

  /** Runs the invocation; resolves when the channel is closed, however it ended. */
  run(runtime: FunctionRuntime): Promise<void> {
    // Inside its span when tracing: log lines about this invocation carry its ids.
    return this.spans ? this.spans.runInvocation(() => this.serve(runtime)) : this.serve(runtime);
  }

  private async serve(runtime: FunctionRuntime): Promise<void> {
    const started = Date.now();
    const deadlineMs = this.head.deadlineUnixMs > 0 ? this.head.deadlineUnixMs - started : fallbackDeadlineMs;
    const timer = setTimeout(
      () => this.cancel(new IsleError("timeout", "the function did not answer before its deadline")),
      Math.max(deadlineMs, 0),
    );
    try {
      const fn = this.head.function;
      if (fn && this.quarantine.isQuarantined(fn.tenantId, fn.deploymentId)) {
        throw new IsleError("function_quarantined", "this version of the function stalled its runtime repeatedly; deploy a fixed version");
      }
      if (this.body && isOverCap(declaredLength(this.headerPairs()) ?? 0, this.maxRequestBytes)) {
        throw requestTooLarge(this.maxRequestBytes);
      }
      const request = this.toRuntimeRequest();
      const response = await (this.spans ? this.spans.runIsolateCall(() => runtime.invoke(request)) : runtime.invoke(request));
      this.spans?.answered(response.status, response.coldStart);
      let wholeAnswer: agentV1.ResponseHead | undefined;
      try {
        // An answer that raced the cancellation (a function may catch its body's error and answer anyway) is not sent.
        if (this.abort.signal.aborted) throw this.abort.signal.reason;
        // Declared too large: refuse before the head goes out, so the caller gets a clean 502.
        const declared = declaredResponseLength(this.head.method, response.status, response.headers);
        if (isOverCap(declared ?? 0, this.maxResponseBytes)) throw this.stop(responseTooLarge(this.maxResponseBytes));
        const head: agentV1.ResponseHead = {
          status: response.status,
          headers: response.headers.map(([name, value]) => ({ name, value })),
          coldStart: response.coldStart,
          body: noBytes,
          trailer: undefined,
        };
        const whole = this.wholeAnswers ? this.takeWholeBody(response.body) : undefined;
        if (whole) {
          // Goes out with its trailer, from close() below.
          wholeAnswer = { ...head, body: whole };
        } else {
          this.send({ $case: "responseHead", value: head });
          let sentBytes = 0;
          for await (const chunk of response.body) {
            sentBytes += (chunk as Buffer).length;
            // Past the head, stopping is all that is left: the trailer's code
            // makes the caller abort the response rather than end it cleanly.
            if (isOverCap(sentBytes, this.maxResponseBytes)) throw this.stop(responseTooLarge(this.maxResponseBytes));
            for await (const piece of withinWindow(chunk as Buffer, this.sendWindow)) {
              if (this.abort.signal.aborted) throw this.abort.signal.reason;
              this.send({ $case: "body", value: piece });
            }
          }
        }
      } finally {
        // A whole answer's stream is read to its end and ends by itself: destroying it before its
        // writer's 'finish' would tell the runtime's HTTP client the response was cut short.
        if (!wholeAnswer) response.body.destroy();
      }
      this.close(undefined, Date.now() - started, wholeAnswer);
    } catch (err) {
      let error = this.toIsleError(err);
      // Past its deadline, a function that also stalled its process spun on
      // the CPU: that is `cpu_limit`, not a slow answer.
      if (error.code === "timeout" && (await runtime.abandonedVerdict?.(this.abort.signal)) === "runaway") {
        error = new IsleError("cpu_limit", "the function kept the CPU busy past its deadline");
      }
      if (error.code === "internal") this.logger.error({ err, invocationId: this.head.invocationId }, "invoke failed");
      this.close(error, Date.now() - started);
    } finally {
      clearTimeout(timer);
      this.body?.destroy();
    }
  }

  addBody(chunk: Buffer): void {
    this.body?.add(chunk);
  }

  endBody(): void {
    this.body?.finish();
  }

  grant(bytes: number): void {
    this.sendWindow.grant(bytes);
  }

  /** Stops the invocation: the runtime request is aborted with `reason`. */
  cancel(reason: IsleError): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort(reason);
    this.sendWindow.fail(reason);
  }

  /** The caller gave up on the invocation: it will not read the trailer. */
  callerCancelled(): void {
    this.callerLeft = true;
    this.cancel(new IsleError("upstream_failed", "the caller cancelled"));
  }

  /** Cancels with `reason` and returns it, to be thrown. */
  private stop(reason: IsleError): IsleError {
    this.cancel(reason);
    return reason;
  }

  private headerPairs(): Array<[string, string]> {
    return this.head.headers.map((h) => [h.name, h.value]);
  }

  private toRuntimeRequest(): RuntimeRequest {
    const fn = this.head.function;
    if (!fn) throw new IsleError("bad_request", "the request head names no function");
    const isolate = isolateOf(fn, this.head.envRef);
    if (!isolate) throw new IsleError("bad_request", "the request head's env reference does not match its function");
    let headers = this.headerPairs();
    let traceparent = this.head.trace?.traceparent ?? "";
    let tracestate = this.head.trace?.tracestate ?? "";
    if (this.spans) {
      ({ traceparent, tracestate } = this.spans.functionTrace(tracestate));
      headers = withTraceHeaders(headers, { traceparent, tracestate });
    }
    return {
      isolateId: isolate.isolateId,
      artifactHash: fn.artifactHash,
      envRef: this.head.envRef,
      invocationId: this.head.invocationId,
      method: this.head.method,
      url: `https://${this.head.host || "localhost"}${this.head.path}`,
      headers,
      body: this.body ?? null,
      signal: this.abort.signal,
      egress: {
        tenantName: fn.tenantName,
        maxSubrequests: this.head.limits?.maxSubrequests ?? defaultMaxSubrequests,
        callToken: this.head.callToken,
        traceparent,
        tracestate,
      },
      logs: this.log,
      ...(this.head.limits ? { limits: { memoryMb: this.head.limits.memoryMb, wallTimeoutMs: this.head.limits.wallTimeoutMs } } : {}),
    };
  }

  /**
   * The whole response body when the runtime has already written all of it
   * (the stream's writer ended and nothing it wrote is still in transit) and
   * it fits in a whole answer: at most maxWholeAnswerBytes, within the
   * response cap, and within the caller's window, whose credit it takes.
   * Undefined, with the stream untouched, otherwise.
   */
  private takeWholeBody(body: Readable): Buffer | undefined {
    const writer = body as Readable & Partial<Pick<Writable, "writableEnded" | "writableLength">>;
    if (writer.writableEnded !== true || writer.writableLength !== 0 || body.readableObjectMode || body.readableFlowing === true || body.destroyed) return undefined;
    const length = body.readableLength;
    if (length > maxWholeAnswerBytes || isOverCap(length, this.maxResponseBytes)) return undefined;
    if (!this.sendWindow.tryTake(length)) return undefined;
    const bytes = length > 0 ? (body.read() as Buffer | null) : null;
    // Flowing from here: the end of input may still be on its way (the writer's final step runs
    // on a later tick), and only a flowing or read stream emits 'end', then 'close', which is
    // what ends the invocation in the runtime's registry.
    body.resume();
    return bytes ?? noBytes;
  }

  /** The abort reason when cancelled or timed out; else the error itself. */
  private toIsleError(err: unknown): IsleError {
    const reason: unknown = this.abort.signal.reason;
    if (this.abort.signal.aborted && reason instanceof IsleError) return reason;
    if (err instanceof IsleError) return err;
    return new IsleError("internal", "the agent failed to run the function");
  }

  /** Sends the trailer: alone, or inside `wholeAnswer` (a response head carrying the whole body) when there is one. */
  private close(error: IsleError | undefined, wallMs: number, wholeAnswer?: agentV1.ResponseHead): void {
    if (this.closed) return;
    this.closed = true;
    this.spans?.end(error);
    const fn = this.head.function;
    const late =
      this.sendLate &&
      ((lines: agentV1.LogLine[]) =>
        this.sendLate?.({ invocationId: this.head.invocationId, tenantId: fn?.tenantId ?? "", functionId: fn?.functionId ?? "", logs: lines }));
    let logs = this.log.take(late);
    if (this.callerLeft && late && logs.length > 0) {
      late(logs);
      logs = [];
    }
    const trailer: agentV1.Trailer = { wallMs, cpuMs: 0, errorCode: error?.code ?? "", errorMessage: error?.message ?? "", logs };
    if (wholeAnswer && !error) this.send({ $case: "responseHead", value: { ...wholeAnswer, trailer } });
    else this.send({ $case: "trailer", value: trailer });
  }
}
