import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";

/** A listening TCP forwarder; `close()` stops it and cuts every connection it carries. */
export interface TcpForwarder {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Forwards TCP connections from `listen` to `target`, bytes untouched. Lets processes in a
 * network namespace reach a service that listens on the host's loopback only (Postgres on
 * 127.0.0.1:5432): they dial the forwarder on the bridge address instead.
 */
export async function forwardTcp(listen: { host: string; port: number }, target: { host: string; port: number }): Promise<TcpForwarder> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const server = createServer((inbound) => {
    track(inbound);
    const outbound = connect(target.port, target.host);
    track(outbound);
    // Either side failing or closing ends both: the client sees the service go away, as it would directly.
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", end).on("close", end);
    outbound.on("error", end).on("close", end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  server.listen(listen.port, listen.host);
  await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err as Error))]);
  return {
    host: listen.host,
    port: listen.port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
