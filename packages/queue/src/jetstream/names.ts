/** The JetStream resources of one named queue; every name derives from the queue's name. */
export interface JetStreamNames {
  /** Work-queue stream holding messages until they are acknowledged. */
  stream: string;
  /** Durable pull consumer every process of the queue shares. */
  consumer: string;
  /** Limits stream holding dead letters, one subject per message. */
  deadStream: string;
  /** Key-value bucket mapping idempotency keys to message ids. */
  idempotencyBucket: string;
  /** A tenant's work subject. */
  workSubject(tenantId: string): string;
  /** A dead letter's subject; `*` as id matches all of a tenant's. */
  deadSubject(tenantId: string, id: string): string;
}

/** The names for queue `name` (already checked to be 1–32 of a-z, 0-9 and "-"). */
export function jetStreamNames(name: string): JetStreamNames {
  return {
    stream: `isle-queue-${name}`,
    consumer: `isle-queue-${name}-workers`,
    deadStream: `isle-dead-${name}`,
    idempotencyBucket: `isle-idempotency-${name}`,
    workSubject: (tenantId) => `isle.queue.${name}.${tenantId}`,
    deadSubject: (tenantId, id) => `isle.dead.${name}.${tenantId}.${id}`,
  };
}
