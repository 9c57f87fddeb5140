import type { IncomingHttpHeaders } from "node:http";
import { droppedResponseHeaders } from "./workerd/internal-headers.js";

/** A runtime's response headers as name/value pairs, minus hop-by-hop and Isle's internal ones. */
export function responseHeaderPairs(headers: IncomingHttpHeaders): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || droppedResponseHeaders.has(name)) continue;
    if (Array.isArray(value)) for (const item of value) out.push([name, item]);
    else out.push([name, value]);
  }
  return out;
}
