import { Transform, type TransformCallback } from "node:stream";
import { agentV1 } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import type { ContextVerifier } from "./caller-guard.js";
import { frameCase, scanFrame } from "./frame-scan.js";

/**
 * Sits between a gateway's Invoke stream and the agent's: request heads are
 * decoded and their signed context checked; a refused head is answered on
 * its channel with an `unauthorized` trailer and, like every later frame of
 * that channel, never reaches the agent. Every other frame passes as the
 * bytes it came as.
 */
export function invokeFilter(verifier: ContextVerifier, answer: (frame: Uint8Array) => void, logger: Logger): Transform {
  const refused = new Set<number>();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const top = scanFrame(chunk);
      if (top?.kind === frameCase.requestHead) {
        const frame = agentV1.InvokeFrame.decode(chunk);
        const head = frame.frame?.$case === "requestHead" ? frame.frame.value : undefined;
        const problem = head ? verifier.refuse(head, Date.now()) : "malformed request head";
        if (!problem) {
          refused.delete(frame.channel);
          return callback(null, chunk);
        }
        refused.add(frame.channel);
        logger.warn({ channel: frame.channel, invocationId: head?.invocationId, problem }, "refused an invocation");
        answer(
          agentV1.InvokeFrame.encode({
            channel: frame.channel,
            frame: { $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 0, cpuMs: 0, errorCode: "unauthorized", errorMessage: problem }) },
          }).finish(),
        );
        return callback();
      }
      if (top && refused.has(top.channel)) return callback();
      callback(null, chunk);
    },
  });
}
