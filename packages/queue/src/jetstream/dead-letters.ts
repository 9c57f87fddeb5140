import { IsleError } from "@isle/errors";
import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { Settlement } from "../consumer-loop.js";
import { pageLimit } from "../page-limit.js";
import type { DeadLetterPage, DeadLetterPageRequest } from "../types.js";
import { header, messageHeaders, oneLine, readDeadLetter, readFields } from "./headers.js";
import type { JetStreamNames } from "./names.js";

/**
 * Copy a delivery to the dead-letter stream, under a subject of its own. Its msg id names the
 * attempt, so a second copy of the same death (the first one's acknowledgement was lost) is
 * dropped by the stream's duplicate window.
 */
export async function deadLetter(
  js: JetStreamClient,
  names: JetStreamNames,
  msg: JsMsg,
  s: Extract<Settlement, { kind: "dead" }>,
): Promise<void> {
  const fields = readFields(msg.headers);
  const h = messageHeaders(fields, `${fields.id}-dead-${s.attempts}`);
  h.set(header.attempts, String(s.attempts));
  h.set(header.error, oneLine(s.error));
  h.set(header.deadAt, new Date().toISOString());
  await js.publish(names.deadSubject(fields.tenantId, fields.id), msg.data, { headers: h });
}

/**
 * A tenant's dead letters, oldest first: each page walks the dead-letter stream with "next
 * message on or after this sequence matching the tenant's subjects". The cursor is the stream
 * sequence to resume from.
 */
export async function listDeadLetters(
  jsm: JetStreamManager,
  names: JetStreamNames,
  tenantId: string,
  page: DeadLetterPageRequest,
): Promise<DeadLetterPage> {
  const limit = pageLimit(page.limit);
  let seq = page.cursor === undefined ? 1 : decodeCursor(page.cursor);
  const filter = names.deadSubject(tenantId, "*");
  const items: DeadLetterPage["items"] = [];
  while (items.length < limit) {
    // `next_by_subj` is in the server's API (2.9+) though not in the client's type for it.
    const query = { seq, next_by_subj: filter } as unknown as { seq: number };
    const stored = await jsm.streams.getMessage(names.deadStream, query);
    if (!stored) return { items, nextCursor: undefined };
    items.push(readDeadLetter(stored.header, stored.data, stored.time));
    seq = stored.seq + 1;
  }
  return { items, nextCursor: String(seq) };
}

/**
 * Put a dead letter back on the work queue with a fresh budget of attempts (its offset carries
 * the count on), then delete it from the dead-letter stream. The republish's msg id names the
 * dead-letter entry, so retrying twice in a row queues it once.
 */
export async function retryDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  names: JetStreamNames,
  tenantId: string,
  id: string,
): Promise<boolean> {
  const stored = await jsm.streams.getMessage(names.deadStream, { last_by_subj: names.deadSubject(tenantId, id) });
  if (!stored) return false;
  const fields = readFields(stored.header);
  const attempts = Number(stored.header.get(header.attempts) || 0);
  const h: MsgHdrs = messageHeaders({ ...fields, attemptOffset: attempts }, `${id}-retry-${stored.seq}`);
  await js.publish(names.workSubject(tenantId), stored.data, { headers: h });
  await jsm.streams.deleteMessage(names.deadStream, stored.seq, false);
  return true;
}

function decodeCursor(cursor: string): number {
  const seq = Number(cursor);
  if (!Number.isSafeInteger(seq) || seq < 1) throw new IsleError("bad_request", "Invalid dead-letter cursor");
  return seq;
}
