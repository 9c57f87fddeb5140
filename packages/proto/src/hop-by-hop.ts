/**
 * Hop-by-hop headers (RFC 9110 §7.6.1 and the customary extras): they describe
 * one connection, not the message, so no hop of the invoke path forwards them
 * into frames or out of them.
 */
export const hopByHopHeaders: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);
