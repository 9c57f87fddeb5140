/**
 * Whole answers (agent.proto, ResponseHead.trailer): a small answer that is
 * complete when its head goes out travels as one frame instead of head, body
 * and trailer — one gRPC message per hop instead of three. A caller that
 * understands them says so with this metadata entry when it opens the Invoke
 * stream; the sidecar passes it on to the agent, which sends them on that
 * stream only.
 */
export const wholeAnswersMetadata = { key: "isle-whole-answers", value: "1" } as const;

/** Largest body a whole-answer head carries; larger answers stream as before. */
export const maxWholeAnswerBytes = 64 * 1024;
