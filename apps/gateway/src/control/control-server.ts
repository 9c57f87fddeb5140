import * as grpc from "@grpc/grpc-js";
import { controlV1, grpcChannelOptions } from "@isle/proto";
import type { Logger } from "@isle/telemetry";
import { forAgentsOnly, type AgentHandlers } from "./agent-guard.js";
import type { EnvStore } from "./env-store.js";
import type { AgentSession, Membership } from "./membership.js";

/** Where the control plane reads artifact bytes. */
export interface ArtifactStore {
  get(hash: string): Promise<Buffer | undefined>;
}

export interface ControlServerDeps {
  membership: Membership;
  artifacts: ArtifactStore;
  env: EnvStore;
  logger: Logger;
  heartbeatMs?: number;
}

/** Artifact bytes go out in chunks well under the gRPC message limit. */
const chunkBytes = 1024 * 1024;

/**
 * The ControlPlane gRPC service: agents register and heartbeat on one stream,
 * and download artifacts by hash. Only agents are served (see agent-guard.ts);
 * bind it with mutual TLS (control-tls.ts).
 */
export function createControlServer({ membership, artifacts, env, logger, heartbeatMs = 1000 }: ControlServerDeps): grpc.Server {
  const handlers: AgentHandlers = {
    register: (agent) => (call) => {
      const session: AgentSession = { send: (command) => void (!call.writableEnded && call.write(command)) };
      let agentId: string | undefined;
      call.on("data", (report: controlV1.AgentReport) => {
        if (!report.address) {
          call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: "a report needs an address" });
          return;
        }
        // An agent's certificate is its name: one node's certificate cannot stand in for another node.
        if (report.agentId !== agent.name) {
          call.emit("error", { code: grpc.status.PERMISSION_DENIED, details: `this certificate is agent ${agent.name}'s` });
          return;
        }
        membership.report(report, session);
        if (agentId === undefined) {
          agentId = report.agentId;
          logger.info({ agentId, address: report.address }, "agent registered");
          call.write({ command: { $case: "registered", value: { heartbeatIntervalMs: heartbeatMs } } });
        }
      });
      const leave = () => {
        if (agentId === undefined) return;
        membership.leave(agentId, session);
        logger.info({ agentId }, "agent left");
        agentId = undefined;
      };
      call.on("end", () => {
        leave();
        call.end();
      });
      call.on("cancelled", leave);
      call.on("error", leave);
    },

    getArtifact: () => async (call) => {
      const hash = call.request.hash;
      if (!/^[0-9a-f]{64}$/.test(hash)) {
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: "hash must be 64 hex digits" });
        return;
      }
      try {
        const bytes = await artifacts.get(hash);
        if (!bytes) {
          call.emit("error", { code: grpc.status.NOT_FOUND, details: `no artifact ${hash}` });
          return;
        }
        for (let offset = 0; offset < bytes.length || offset === 0; offset += chunkBytes) {
          call.write({ data: bytes.subarray(offset, offset + chunkBytes) });
          if (bytes.length === 0) break;
        }
        call.end();
      } catch (err) {
        logger.error({ err, hash }, "artifact read failed");
        call.emit("error", { code: grpc.status.INTERNAL, details: "artifact read failed" });
      }
    },

    getEnv: () => (call, callback) => {
      const { tenantId, functionId } = call.request;
      env.current(tenantId, functionId).then(
        (found) =>
          found
            ? callback(null, found)
            : callback({ code: grpc.status.NOT_FOUND, details: "no such function" }),
        (err: unknown) => {
          // Never log the env itself: it holds secrets.
          logger.error({ err, tenantId, functionId }, "env read failed");
          callback({ code: grpc.status.INTERNAL, details: "env read failed" });
        },
      );
    },
  };
  const server = new grpc.Server(grpcChannelOptions);
  server.addService(controlV1.ControlPlaneService, forAgentsOnly(handlers, logger));
  return server;
}
