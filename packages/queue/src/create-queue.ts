import { JetStreamQueue, type JetStreamQueueOptions } from "./jetstream/jetstream-queue.js";
import { PgQueue, type PgQueueOptions } from "./pg/pg-queue.js";
import type { QueueOptions } from "./settings.js";
import type { InvocationQueue } from "./types.js";

export interface CreateQueueOptions extends QueueOptions {
  /** `NATS_URL`: when set, the queue lives in NATS JetStream; otherwise in the database. */
  natsUrl?: string | undefined;
  /** The table queue's database (and its LISTEN), used when `natsUrl` is absent. */
  database: PgQueueOptions["database"];
  /** JetStream-only settings. */
  jetstream?: Omit<JetStreamQueueOptions, keyof QueueOptions | "url">;
  /** Table-queue-only settings. */
  table?: Omit<PgQueueOptions, keyof QueueOptions | "database">;
}

/** The app's queue: JetStreamQueue when `natsUrl` is set (DESIGN.md §7), else PgQueue. */
export function createQueue(options: CreateQueueOptions): InvocationQueue {
  const { natsUrl, database, jetstream, table, ...shared } = options;
  return natsUrl
    ? new JetStreamQueue({ ...shared, ...jetstream, url: natsUrl })
    : new PgQueue({ ...shared, ...table, database });
}
