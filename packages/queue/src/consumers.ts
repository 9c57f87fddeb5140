import { runConsumer, type DeliverySource } from "./consumer-loop.js";
import { checkInteger, type QueueSettings } from "./settings.js";
import type { ConsumeOptions, DeliveryHandler, QueueConsumer } from "./types.js";

/** The consumers a queue started, so that closing the queue stops them. */
export class Consumers {
  readonly #running = new Set<QueueConsumer>();

  /** Start a consumer loop over `source` and keep track of it until it stops. */
  start(source: DeliverySource, handler: DeliveryHandler, options: ConsumeOptions, settings: QueueSettings): QueueConsumer {
    const concurrency = options.concurrency ?? 1;
    checkInteger("concurrency", concurrency, 1, 10_000);
    const consumer = runConsumer(source, handler, { ...settings, concurrency });
    const tracked: QueueConsumer = {
      stop: async (stopOptions) => {
        await consumer.stop(stopOptions);
        this.#running.delete(tracked);
      },
    };
    this.#running.add(tracked);
    return tracked;
  }

  /** Stop every consumer at once, abandoning running handlers as a crash would. */
  async abandonAll(): Promise<void> {
    await Promise.all([...this.#running].map((c) => c.stop({ drainMs: 0 })));
  }
}
