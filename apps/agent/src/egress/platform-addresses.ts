import { networkInterfaces } from "node:os";
import { isIP } from "node:net";

/**
 * Addresses that belong to the platform and must never be a function's
 * destination even where the operator allowlists their range: every address
 * of this machine's interfaces (so a service bound to 0.0.0.0 is out of reach
 * through the VM's own public IP) and the IP hosts of the control plane,
 * sidecar and gateway addresses the agent is configured with.
 */
export function platformAddresses(hostPorts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) out.add(address.address.split("%")[0] ?? address.address);
  }
  for (const hostPort of hostPorts) {
    const host = hostOf(hostPort);
    if (isIP(host)) out.add(host);
  }
  return [...out];
}

/** The host of `host:port`, `[v6]:port` or a URL. */
function hostOf(value: string): string {
  try {
    if (value.includes("://")) return new URL(value).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return value;
  }
  if (value.startsWith("[")) return value.slice(1, value.indexOf("]"));
  const colon = value.lastIndexOf(":");
  return colon === -1 ? value : value.slice(0, colon);
}
