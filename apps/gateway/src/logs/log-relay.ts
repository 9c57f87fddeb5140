import { randomUUID } from "node:crypto";
import type { Database, InvocationLogLine } from "@isle/db";
import type { Logger } from "@isle/telemetry";
import { sql } from "drizzle-orm";
import type { LogBatch, LogFeed } from "./log-feed.js";

/** The notification channel gateways relay their followers' batches on. */
export const logChannel = "isle_logs";

/** Postgres refuses a NOTIFY payload of 8000 bytes or more; stay clear of it. */
const maxPayloadBytes = 7500;

/** A line's message whose JSON is longer than this many bytes is cut for the relay (the record keeps it whole). */
const maxRelayedMessageBytes = 3000;

/** The line, its message cut until its JSON fits (escapes can make a character six bytes). */
function fitLine(line: InvocationLogLine): InvocationLogLine {
  let message = line.message;
  if (Buffer.byteLength(JSON.stringify(message)) <= maxRelayedMessageBytes) return line;
  while (Buffer.byteLength(JSON.stringify(message)) > maxRelayedMessageBytes) message = message.slice(0, Math.floor(message.length / 2));
  return { ...line, message: `${message}… (cut)` };
}

/** One batch (or a part of one) on the wire: ids, status, lines. */
interface WireBatch {
  t: string;
  f: string;
  i: string;
  s: string;
  l: InvocationLogLine[];
}

export interface LogRelayOptions {
  database: Database;
  feed: LogFeed;
  logger: Logger;
  /** How long local batches gather before they go out in as few notifications as fit. Default 50 ms. */
  flushMs?: number;
}

/**
 * Live logs across gateways (ADR 0017): every batch this gateway records
 * goes out as a Postgres NOTIFY (gathered for `flushMs`, several to a
 * notification); every gateway delivers the others' batches to its own
 * followers of that function. A batch too long for one notification goes
 * in parts, and a line of more than about 3000 bytes is cut (live follow
 * only: the record keeps it whole).
 * Followers are authorised where they connect, and a batch only ever
 * reaches followers of the tenant and function ids it was recorded under.
 */
export class LogRelay {
  private readonly origin = randomUUID();
  private queued: WireBatch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private stopTap: (() => void) | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(private readonly options: LogRelayOptions) {}

  async start(): Promise<void> {
    const { database, feed } = this.options;
    this.unlisten = await database.listen(logChannel, (payload) => {
      if (payload !== undefined) this.receive(payload);
    });
    this.stopTap = feed.onLocal((batch) => this.enqueue(batch));
  }

  async stop(): Promise<void> {
    this.stopTap?.();
    clearTimeout(this.timer);
    this.send();
    await this.sending;
    await this.unlisten?.();
  }

  private enqueue(batch: LogBatch): void {
    this.queued.push({ t: batch.tenantId, f: batch.functionId, i: batch.invocationId, s: batch.status, l: batch.lines.map(fitLine) });
    this.timer ??= setTimeout(() => this.send(), this.options.flushMs ?? 50);
  }

  /** Packs the queued batches into notifications under the size limit, in order, splitting long ones by lines. */
  private send(): void {
    this.timer = undefined;
    const batches = this.queued;
    this.queued = [];
    if (batches.length === 0) return;
    const head = `{"o":${JSON.stringify(this.origin)},"b":[`;
    const room = maxPayloadBytes - Buffer.byteLength(head) - 2;
    const payloads: string[] = [];
    let current: string[] = [];
    let size = 0;
    const add = (item: string) => {
      const bytes = Buffer.byteLength(item) + 1;
      if (size + bytes > room && current.length > 0) {
        payloads.push(`${head}${current.join(",")}]}`);
        current = [];
        size = 0;
      }
      current.push(item);
      size += bytes;
    };
    for (const batch of batches) {
      // Each part carries as many lines as fit, at least one (cut lines always fit).
      let part: InvocationLogLine[] = [];
      for (const line of batch.l) {
        if (part.length > 0 && Buffer.byteLength(JSON.stringify({ ...batch, l: [...part, line] })) > room) {
          add(JSON.stringify({ ...batch, l: part }));
          part = [];
        }
        part.push(line);
      }
      if (part.length > 0) add(JSON.stringify({ ...batch, l: part }));
    }
    if (current.length > 0) payloads.push(`${head}${current.join(",")}]}`);
    const { database, logger } = this.options;
    this.sending = this.sending.then(async () => {
      for (const payload of payloads) {
        await database.db.execute(sql`select pg_notify(${logChannel}, ${payload})`).catch((err: unknown) => {
          // Live logs are best effort; the records themselves are written by the recorder.
          logger.warn({ err }, "live log lines not relayed to other gateways");
        });
      }
    });
  }

  private receive(payload: string): void {
    let message: { o?: unknown; b?: unknown };
    try {
      message = JSON.parse(payload) as { o?: unknown; b?: unknown };
    } catch {
      return;
    }
    if (message.o === this.origin || !Array.isArray(message.b)) return;
    for (const batch of message.b as WireBatch[]) {
      if (typeof batch?.t !== "string" || typeof batch.f !== "string" || !Array.isArray(batch.l)) continue;
      if (!this.options.feed.hasFollowers(batch.t, batch.f)) continue;
      this.options.feed.deliver({ tenantId: batch.t, functionId: batch.f, invocationId: String(batch.i), status: String(batch.s), lines: batch.l });
    }
  }
}
