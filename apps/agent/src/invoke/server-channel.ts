import { IsleError } from "@isle/errors";
import { SendWindow, withinWindow, type agentV1 } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import type { FunctionRuntime, RuntimeRequest } from "../runtimes/runtime.js";
import { parseEnvRef } from "../env-cache.js";
import type { Quarantine } from "../quarantine.js";
import { ChannelBody } from "./channel-body.js";

type Frame = agentV1.InvokeFrame["frame"];

/** Default deadline when a head carries none. */
const fallbackDeadlineMs = 30_000;

/**
 * One invocation on a multiplexed Invoke stream, agent side: feeds the
 * request body to the runtime, streams the answer back within the caller's
 * window, ends with a trailer. Every failure becomes a trailer error code.
 */
export class ServerChannel {
  private readonly abort = new AbortController();
  private readonly sendWindow: SendWindow;
  private readonly body: ChannelBody | undefined;
  private closed = false;

  constructor(
    private readonly head: agentV1.RequestHead,
    private readonly send: (frame: Frame) => void,
    private readonly logger: Logger,
    private readonly quarantine: Quarantine,
  ) {
    this.sendWindow = new SendWindow(head.initialWindow);
    this.body = head.hasBody
      ? new ChannelBody(head.initialWindow, (bytes) => this.send({ $case: "windowUpdate", value: { bytes } }))
      : undefined;
  }

  /** Runs the invocation; resolves when the channel is closed, however it ended. */
  async run(runtime: FunctionRuntime): Promise<void> {
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
      const response = await runtime.invoke(this.toRuntimeRequest());
      this.send({
        $case: "responseHead",
        value: { status: response.status, headers: response.headers.map(([name, value]) => ({ name, value })), coldStart: response.coldStart },
      });
      try {
        for await (const chunk of response.body) {
          for await (const piece of withinWindow(chunk as Buffer, this.sendWindow)) {
            if (this.abort.signal.aborted) throw this.abort.signal.reason;
            this.send({ $case: "body", value: piece });
          }
        }
      } finally {
        response.body.destroy();
      }
      this.close(undefined, Date.now() - started);
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

  private toRuntimeRequest(): RuntimeRequest {
    const fn = this.head.function;
    if (!fn) throw new IsleError("bad_request", "the request head names no function");
    const env = parseEnvRef(this.head.envRef);
    if (!env || env.tenantId !== fn.tenantId || env.functionId !== fn.functionId) {
      throw new IsleError("bad_request", "the request head's env reference does not match its function");
    }
    return {
      // A new env version is a new isolate: env is fixed when an isolate loads.
      isolateId: `${fn.tenantId}:${fn.deploymentId}:${fn.artifactHash}:${env.version}`,
      artifactHash: fn.artifactHash,
      envRef: this.head.envRef,
      invocationId: this.head.invocationId,
      method: this.head.method,
      url: `https://${this.head.host || "localhost"}${this.head.path}`,
      headers: this.head.headers.map((h) => [h.name, h.value]),
      body: this.body ?? null,
      signal: this.abort.signal,
    };
  }

  /** The abort reason when cancelled or timed out; else the error itself. */
  private toIsleError(err: unknown): IsleError {
    const reason: unknown = this.abort.signal.reason;
    if (this.abort.signal.aborted && reason instanceof IsleError) return reason;
    if (err instanceof IsleError) return err;
    return new IsleError("internal", "the agent failed to run the function");
  }

  private close(error: IsleError | undefined, wallMs: number): void {
    if (this.closed) return;
    this.closed = true;
    this.send({ $case: "trailer", value: { wallMs, cpuMs: 0, errorCode: error?.code ?? "", errorMessage: error?.message ?? "" } });
  }
}
