import type { NewInvocation } from "@isle/db";
import type { Logger } from "@isle/telemetry";

export interface QueuedInvocation {
  id: string;
  tenantId: string;
  functionId: string;
  /** `queue` for the async route, `timer` for a schedule's tick. */
  trigger: "queue" | "timer";
  acceptedAtMs: number;
  /** The trace id of the caller's traceparent, which every attempt carries; null without one. */
  traceId?: string | null;
}

/**
 * Writes an accepted async invocation's record (status `queued`, attempt 0) so its Location
 * answers at once. Best effort: a failed write is logged, and the first attempt writes the record
 * anyway; `saveInvocation` never lets it set back a record an attempt has moved on.
 */
export async function recordQueued(
  saveRecord: (row: NewInvocation) => Promise<void>,
  logger: Logger,
  invocation: QueuedInvocation,
): Promise<void> {
  await saveRecord({
    id: invocation.id,
    tenantId: invocation.tenantId,
    functionId: invocation.functionId,
    deploymentId: null,
    agentId: null,
    mode: "async",
    trigger: invocation.trigger,
    status: "queued",
    attempt: 0,
    startedAt: new Date(invocation.acceptedAtMs),
    traceId: invocation.traceId ?? null,
  }).catch((err: unknown) => logger.warn({ err, invocationId: invocation.id }, "queued invocation record not written; its first attempt writes it"));
}
