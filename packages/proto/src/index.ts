/**
 * Isle's gRPC contracts. The generated code under `src/gen/` comes from the
 * `.proto` files under `proto/` (`npm run generate -w @isle/proto`).
 */
export * as agentV1 from "./gen/isle/agent/v1/agent.js";
export * as controlV1 from "./gen/isle/control/v1/control.js";
export { passthroughInvokeMethod } from "./passthrough.js";
export { grpcChannelOptions } from "./channel-options.js";
export { artifactHash, decodeArtifact, encodeArtifact, type ArtifactManifest } from "./artifact.js";
export {
  containerRootfsKinds,
  decodeContainerArtifact,
  encodeContainerArtifact,
  isContainerArtifact,
  type ContainerArtifact,
  type ContainerFile,
  type ContainerRootfs,
} from "./container-artifact.js";
export { ReceiveWindow, SendWindow, defaultWindowBytes, maxChunkBytes, withinWindow } from "./mux/window.js";
export { hopByHopHeaders } from "./hop-by-hop.js";
export { contextKeyBytes, contextKeyGrant, contextKeyMetadata, contextMac, invocationContext } from "./invocation-context.js";
export { carriesEntry, maxWholeAnswerBytes, relayedWholeAnswersMetadata, wholeAnswersMetadata } from "./whole-answers.js";
