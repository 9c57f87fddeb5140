import * as grpc from "@grpc/grpc-js";
import { admitPeer, isRefusal, type Identity } from "@isle/pki";
import type { controlV1 } from "@isle/proto";
import type { Logger } from "@isle/telemetry";

/** Each ControlPlane handler, built for the agent its caller's certificate names. */
export type AgentHandlers = { [K in keyof controlV1.ControlPlaneServer]: (agent: Identity) => controlV1.ControlPlaneServer[K] };

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

/**
 * Runs every ControlPlane method only for callers whose certificate names an
 * agent. TLS has already refused callers without a certificate of the platform
 * CA; this refuses the other parts (a gateway's or a sidecar's certificate)
 * with PERMISSION_DENIED before a handler runs — the channel carries functions'
 * env, secrets and code. Wrapping the whole service, rather than checking in
 * each handler, means a method added later cannot forget.
 */
export function forAgentsOnly(handlers: AgentHandlers, logger: Logger): controlV1.ControlPlaneServer {
  const guarded: grpc.UntypedServiceImplementation = {};
  for (const [method, build] of Object.entries(handlers)) {
    guarded[method] = (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
      const peer = admitPeer(call.getAuthContext()?.sslPeerCertificate?.raw, "agent");
      if (isRefusal(peer)) {
        logger.warn({ method, peer: call.getPeer(), why: peer.details }, "refused a control plane caller");
        const status = { code: grpc.status[peer.refused], details: peer.details, metadata: new grpc.Metadata() };
        if (callback) callback(status);
        else call.emit("error", status);
        return;
      }
      (build(peer.identity) as (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => void)(call, callback);
    };
  }
  return guarded as controlV1.ControlPlaneServer;
}
