import { createSecretKey, timingSafeEqual, verify, type KeyObject } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { admitPeer, isRefusal } from "@isle/pki";
import { contextKeyBytes, contextKeyGrant, contextKeyMetadata, contextMac, type agentV1 } from "@isle/proto";

/** How far past its deadline a context may still arrive (clock skew between hosts). */
const skewMs = 5_000;
/** The longest deadline a context may name: the platform's longest timeout, with room. */
const maxLifetimeMs = 16 * 60_000;

/** Checks the signed invocation contexts of one admitted caller. */
export interface ContextVerifier {
  /** Why this head may not be forwarded, or undefined when it may. */
  refuse(head: agentV1.RequestHead, nowMs: number): string | undefined;
}

/**
 * Admits a call only from a gateway: TLS has already checked that the peer's
 * certificate was issued by the platform CA; this checks that it names a
 * gateway (spiffe://isle/gateway/<name>), and returns a verifier of the
 * invocation contexts of this call, authenticated with the context key that
 * the gateway's certificate key signed in the call's metadata.
 */
export function admitCaller(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext" | "metadata">): ContextVerifier | grpc.StatusObject {
  const peer = admitPeer(call.getAuthContext()?.sslPeerCertificate?.raw, "gateway");
  if (isRefusal(peer)) return { code: grpc.status[peer.refused], details: peer.details, metadata: new grpc.Metadata() };
  return contextVerifier(peer.cert.publicKey, call.metadata);
}

/**
 * Checks heads against the stream's context key. A stream without a key the
 * gateway signed still opens, but every head on it is refused on its own
 * channel, so the caller learns why.
 */
export function contextVerifier(gatewayKey: KeyObject, metadata: grpc.Metadata): ContextVerifier {
  const key = metadata.get(contextKeyMetadata.key)[0];
  const signature = metadata.get(contextKeyMetadata.signature)[0];
  let problem: string | undefined;
  if (!Buffer.isBuffer(key) || key.length !== contextKeyBytes || !Buffer.isBuffer(signature)) problem = "the call carries no context key";
  else if (!verify("sha256", contextKeyGrant(key), gatewayKey, signature)) problem = "the context key is not signed by the caller's certificate";
  const contextKey = problem || !Buffer.isBuffer(key) ? undefined : createSecretKey(key);
  return {
    refuse(head, nowMs) {
      if (!contextKey) return problem;
      if (head.contextSignature.length === 0) return "the invocation context is not signed";
      const expected = contextMac(contextKey, head);
      if (head.contextSignature.length !== expected.length || !timingSafeEqual(head.contextSignature, expected)) {
        return "the invocation context's signature does not match";
      }
      const deadline = Number(head.deadlineUnixMs);
      if (deadline + skewMs < nowMs) return "the invocation context has expired";
      if (deadline - nowMs > maxLifetimeMs) return "the invocation context lives too long";
      return undefined;
    },
  };
}

export function isStatus(value: ContextVerifier | grpc.StatusObject): value is grpc.StatusObject {
  return "code" in value;
}
