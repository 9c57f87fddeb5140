import { verify, X509Certificate, type KeyObject } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { identityOf } from "@isle/pki";
import { invocationContext, type agentV1 } from "@isle/proto";

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
 * invocation contexts that gateway signed with that certificate's key.
 */
export function admitCaller(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext">): ContextVerifier | grpc.StatusObject {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  if (!raw) return denied(grpc.status.UNAUTHENTICATED, "a platform certificate is required");
  const cert = new X509Certificate(raw);
  const identity = identityOf(cert);
  if (identity?.role !== "gateway") return denied(grpc.status.PERMISSION_DENIED, "only gateways may call a sidecar");
  return contextVerifier(cert.publicKey);
}

export function contextVerifier(gatewayKey: KeyObject): ContextVerifier {
  return {
    refuse(head, nowMs) {
      if (head.contextSignature.length === 0) return "the invocation context is not signed";
      if (!verify("sha256", invocationContext(head), gatewayKey, head.contextSignature)) {
        return "the invocation context's signature does not match";
      }
      const deadline = Number(head.deadlineUnixMs);
      if (deadline + skewMs < nowMs) return "the invocation context has expired";
      if (deadline - nowMs > maxLifetimeMs) return "the invocation context lives too long";
      return undefined;
    },
  };
}

function denied(code: grpc.status, details: string): grpc.StatusObject {
  return { code, details, metadata: new grpc.Metadata() };
}

export function isStatus(value: ContextVerifier | grpc.StatusObject): value is grpc.StatusObject {
  return "code" in value;
}
