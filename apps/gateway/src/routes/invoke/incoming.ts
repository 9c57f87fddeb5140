import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";
import type { GatewayEnv } from "../../env.js";

/** The parts of a client request the invoke path needs. */
export interface IncomingParts {
  /** Header pairs with lowercase names, repeated headers repeated. */
  headers: Array<[string, string]>;
  /** The body, streamed; null for GET and HEAD. */
  body: AsyncIterable<Uint8Array> | null;
  /** Calls back once if the client disconnects before the response is sent. */
  onClientGone(callback: () => void): void;
  clientIp: string | undefined;
}

interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

/**
 * Reads the request from Node's own objects when served by
 * @hono/node-server: building the fetch Request, its Headers, its AbortSignal
 * and a web stream over the body cost about a third of the gateway's CPU per
 * request (bench/README.md). Falls back to the fetch Request elsewhere
 * (`app.request` in tests).
 */
export function incomingParts(c: Context<GatewayEnv>): IncomingParts {
  const { incoming, outgoing } = (c.env ?? {}) as NodeBindings;
  const method = c.req.method;
  const hasBody = method !== "GET" && method !== "HEAD";
  if (incoming && outgoing) {
    const raw = incoming.rawHeaders;
    const headers: Array<[string, string]> = [];
    for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
    return {
      headers,
      // When the invocation ends before the body does (the function answered
      // without reading it all, or its cap was passed), the rest must stay
      // readable: destroying the request would leave a kept-alive connection
      // stuck on unread bytes, failing the client's next request on it. The
      // server then drains what is left (bounded) or closes the connection.
      body: hasBody ? incoming.iterator({ destroyOnReturn: false }) : null,
      onClientGone: (callback) =>
        outgoing.once("close", () => {
          if (!outgoing.writableFinished) callback();
        }),
      clientIp: incoming.socket.remoteAddress,
    };
  }
  const request = c.req.raw;
  return {
    headers: [...request.headers],
    body: hasBody ? (request.body as unknown as AsyncIterable<Uint8Array> | null) : null,
    onClientGone: (callback) => request.signal.addEventListener("abort", callback, { once: true }),
    clientIp: undefined,
  };
}
