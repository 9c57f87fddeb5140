import type { Metadata } from "@grpc/grpc-js";

/**
 * Whole answers (agent.proto, ResponseHead.trailer): a small answer that is
 * complete when its head goes out travels as one frame instead of head, body
 * and trailer — one gRPC message per hop instead of three. A gateway that
 * understands them says so with this metadata entry when it opens the Invoke
 * stream.
 */
export const wholeAnswersMetadata = { key: "isle-whole-answers", value: "1" } as const;

/**
 * What the agent waits for before it sends whole answers: the sidecar's own
 * entry, set in place of the gateway's, saying both the gateway and the
 * sidecar read them. A sidecar that predates whole answers would pass the
 * gateway's entry on unchanged but not free a tenant's slot at a whole
 * answer; the agent never sees this one from such a sidecar, so nodes may be
 * upgraded part by part.
 */
export const relayedWholeAnswersMetadata = { key: "isle-whole-answers-relayed", value: "1" } as const;

/** Largest body a whole-answer head carries; larger answers stream as before. */
export const maxWholeAnswerBytes = 64 * 1024;

/** Whether `metadata` carries `entry` (one of the two above) with its value. */
export function carriesEntry(metadata: Metadata, entry: { key: string; value: string }): boolean {
  return metadata.get(entry.key).includes(entry.value);
}
