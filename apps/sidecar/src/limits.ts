import { Transform, type TransformCallback } from "node:stream";
import { agentV1 } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import { frameCase, isWholeAnswer, scanFrame } from "./frame-scan.js";

/**
 * Invocations in flight per tenant on this node, across every Invoke stream
 * of every gateway. Tenants with nothing in flight take no memory.
 */
export class TenantSlots {
  private readonly inUse = new Map<string, number>();

  /** `limit` per tenant; 0 means no limit. */
  constructor(readonly limit: number) {}

  /** Takes a slot for `tenantId`; false when the tenant already has `limit`. */
  tryAcquire(tenantId: string): boolean {
    const used = this.inUse.get(tenantId) ?? 0;
    if (this.limit > 0 && used >= this.limit) return false;
    this.inUse.set(tenantId, used + 1);
    return true;
  }

  release(tenantId: string): void {
    const left = (this.inUse.get(tenantId) ?? 1) - 1;
    if (left > 0) this.inUse.set(tenantId, left);
    else this.inUse.delete(tenantId);
  }

  inFlight(tenantId: string): number {
    return this.inUse.get(tenantId) ?? 0;
  }
}

/** Refused channels remembered to drop their stray body frames; past this many, strays simply pass (the agent ignores them). */
const maxRemembered = 4096;

/**
 * Per-tenant concurrency on one Invoke stream. `inbound` filters the
 * caller's frames: a request head takes its tenant's slot or is answered at
 * once, on its channel, with a `tenant_concurrency_limit` trailer and never
 * forwarded (nor is the rest of that channel). `observeOutbound` watches the
 * agent's frames for trailers, alone or inside a whole-answer response head,
 * which give the slot back; `close` gives back
 * whatever the stream still held when it ended. Only request heads are
 * decoded; every other frame is looked at for its first few bytes and passed
 * on as it came.
 */
export class TenantConcurrencyGate {
  /** Open channel → its tenant. */
  private readonly open = new Map<number, string>();
  private readonly refused = new Set<number>();
  private closed = false;

  constructor(
    private readonly slots: TenantSlots,
    private readonly answer: (frame: Buffer) => void,
    private readonly logger: Logger,
  ) {}

  /** A Transform for the caller → agent direction. */
  inbound(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback: TransformCallback) => callback(null, this.admit(chunk) ? chunk : undefined),
    });
  }

  /** True when the caller's frame may go on to the agent. */
  admit(chunk: Buffer): boolean {
    const top = scanFrame(chunk);
    // Not ours to judge: the agent answers malformed frames.
    if (!top) return true;
    if (top.kind !== frameCase.requestHead) {
      if (this.refused.size === 0 || !this.refused.has(top.channel)) return true;
      if (top.kind === frameCase.endOfBody || top.kind === frameCase.cancel) this.refused.delete(top.channel);
      return false;
    }
    const head = agentV1.RequestHead.decode(chunk.subarray(top.start, top.end));
    const tenantId = head.function?.tenantId ?? "";
    if (this.closed || this.open.has(top.channel) || this.slots.tryAcquire(tenantId)) {
      if (!this.closed && !this.open.has(top.channel)) this.open.set(top.channel, tenantId);
      this.refused.delete(top.channel);
      return true;
    }
    this.logger.debug({ invocationId: head.invocationId, tenantId, limit: this.slots.limit }, "tenant at its concurrency limit on this node");
    if (head.hasBody) {
      if (this.refused.size >= maxRemembered) this.refused.clear();
      this.refused.add(top.channel);
    }
    const message = `the tenant already runs ${this.slots.limit} invocations at once on this node; retry shortly`;
    this.answer(
      Buffer.from(
        agentV1.InvokeFrame.encode({
          channel: top.channel,
          frame: { $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 0, cpuMs: 0, errorCode: "tenant_concurrency_limit", errorMessage: message }) },
        }).finish(),
      ),
    );
    return false;
  }

  /** An agent → caller frame passed: a trailer (or a whole answer) closes its channel and frees the slot. */
  observeOutbound(chunk: Buffer): void {
    if (this.open.size === 0) return;
    const top = scanFrame(chunk);
    if (top?.kind !== frameCase.trailer && top?.kind !== frameCase.responseHead) return;
    const tenantId = this.open.get(top.channel);
    if (tenantId === undefined) return;
    if (top.kind === frameCase.responseHead && !isWholeAnswer(chunk, top)) return;
    this.open.delete(top.channel);
    this.slots.release(tenantId);
  }

  /** The stream ended: every channel still open on it is over. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tenantId of this.open.values()) this.slots.release(tenantId);
    this.open.clear();
    this.refused.clear();
  }
}
