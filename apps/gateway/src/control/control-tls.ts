import { hostname, networkInterfaces, type NetworkInterfaceInfo } from "node:os";
import * as grpc from "@grpc/grpc-js";
import type { GatewayTls } from "../invoke/sidecar-invoker.js";

/** What the host of a listener on every interface looks like. */
const everyInterface = new Set(["", "0.0.0.0", "::", "[::]"]);

/** The machine a gateway runs on, as far as its certificate's names go. */
export interface Machine {
  hostname: string;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/**
 * The names agents may dial the control plane at, for the gateway's
 * certificate (agents check them as any TLS client does): the listener's host,
 * or — when it listens on every interface — this machine's name and addresses;
 * then what the operator adds (ISLE_CONTROL_NAMES: a DNS alias, a load balancer).
 */
export function controlHosts(listenHost: string, extra: readonly string[], machine: Machine = thisMachine()): string[] {
  const own = everyInterface.has(listenHost)
    ? [
        machine.hostname.toLowerCase(),
        "localhost",
        // Link-local IPv6 addresses need a zone to be dialled; no agent reaches the gateway by one.
        ...Object.values(machine.interfaces)
          .flat()
          .flatMap((nic) => (nic && !nic.address.startsWith("fe80:") ? [nic.address] : [])),
      ]
    : [listenHost];
  return [...new Set([...own, ...extra])];
}

function thisMachine(): Machine {
  return { hostname: hostname(), interfaces: networkInterfaces() };
}

/**
 * Mutual TLS for the control plane's listener: the gateway's certificate, and
 * a client certificate of the platform CA required of every caller (no
 * certificate, or one of another CA, fails the handshake). Which part the
 * caller is, is agent-guard.ts's business.
 */
export function controlServerCredentials(tls: GatewayTls): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    Buffer.from(tls.caPem),
    [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
    true,
  );
}
