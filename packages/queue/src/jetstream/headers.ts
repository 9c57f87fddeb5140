import { headers as newHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { decodePayload } from "../payload.js";
import type { DeadLetter } from "../types.js";

/** Headers a queued message carries; its body is the payload's bytes. */
export const header = {
  /** JetStream's own: dedups a publish of the same id within the stream's duplicate window. */
  msgId: "Nats-Msg-Id",
  id: "Isle-Id",
  tenant: "Isle-Tenant",
  function: "Isle-Function",
  json: "Isle-Payload-Json",
  idempotencyKey: "Isle-Idempotency-Key",
  enqueuedAt: "Isle-Enqueued-At",
  /** Deliveries made before a dead letter was retried; attempt numbers continue from it. */
  attemptOffset: "Isle-Attempt-Offset",
  /** On a dead letter: deliveries made, the error, and when. */
  attempts: "Isle-Attempts",
  error: "Isle-Error",
  deadAt: "Isle-Dead-At",
} as const;

/** The fields every copy of a message (queued, dead, retried) carries in its headers. */
export interface MessageFields {
  id: string;
  tenantId: string;
  functionId: string;
  idempotencyKey: string | undefined;
  enqueuedAt: Date;
  json: boolean;
  attemptOffset: number;
}

export function messageHeaders(fields: MessageFields, msgId: string): MsgHdrs {
  const h = newHeaders();
  h.set(header.msgId, msgId);
  h.set(header.id, fields.id);
  h.set(header.tenant, fields.tenantId);
  h.set(header.function, fields.functionId);
  h.set(header.json, fields.json ? "1" : "0");
  h.set(header.enqueuedAt, fields.enqueuedAt.toISOString());
  if (fields.idempotencyKey !== undefined) h.set(header.idempotencyKey, fields.idempotencyKey);
  if (fields.attemptOffset > 0) h.set(header.attemptOffset, String(fields.attemptOffset));
  return h;
}

/** Read the fields back; a message without them was not written by this queue. */
export function readFields(h: MsgHdrs | undefined): MessageFields {
  const id = h?.get(header.id);
  const tenantId = h?.get(header.tenant);
  const functionId = h?.get(header.function);
  if (!h || !id || !tenantId || !functionId) throw new Error("a queue message without its Isle-* headers");
  return {
    id,
    tenantId,
    functionId,
    idempotencyKey: h.get(header.idempotencyKey) || undefined,
    enqueuedAt: new Date(h.get(header.enqueuedAt)),
    json: h.get(header.json) === "1",
    attemptOffset: Number(h.get(header.attemptOffset) || 0),
  };
}

/** Header values cannot hold line breaks; an error message is kept to one line of 1000 characters. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, 1000);
}

/** A dead letter from its stored copy. */
export function readDeadLetter(h: MsgHdrs | undefined, data: Uint8Array, fallbackDeadAt: Date): DeadLetter {
  const fields = readFields(h);
  const deadAt = h?.get(header.deadAt);
  return {
    id: fields.id,
    tenantId: fields.tenantId,
    functionId: fields.functionId,
    payload: decodePayload(data, fields.json),
    idempotencyKey: fields.idempotencyKey,
    attempts: Number(h?.get(header.attempts) || 0),
    error: h?.get(header.error) ?? "",
    enqueuedAt: fields.enqueuedAt,
    deadAt: deadAt ? new Date(deadAt) : fallbackDeadAt,
  };
}

