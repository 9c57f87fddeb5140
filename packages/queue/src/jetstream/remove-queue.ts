import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { jetStreamNames } from "./names.js";

/**
 * Deletes everything JetStream holds for queue `name` — its work stream, dead letters and
 * idempotency bucket — and resolves with the streams that existed. For operators retiring a
 * queue name, and for tests and benchmarks that ran under a name of their own on a shared server.
 * Messages still queued are lost: stop every gateway using the name first.
 */
export async function removeJetStreamQueue(url: string, name: string): Promise<string[]> {
  const nc = await connect({ servers: url.split(","), timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc);
    const names = jetStreamNames(name);
    const removed: string[] = [];
    for (const stream of [names.stream, names.deadStream, `KV_${names.idempotencyBucket}`]) {
      try {
        await jsm.streams.delete(stream);
        removed.push(stream);
      } catch (err) {
        // A stream never created is what we want; anything else is a real failure.
        if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      }
    }
    return removed;
  } finally {
    await nc.close();
  }
}
