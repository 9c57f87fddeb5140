import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { metricsContentType, type Logger } from "@isle/telemetry";
import type { AgentMetrics } from "./agent-metrics.js";

export interface MetricsServer {
  /** The port it listens on (the chosen one when configured with 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * The agent's only HTTP listener: `GET /metrics` for Prometheus, nothing
 * else. It binds to loopback by default (ISLE_AGENT_METRICS_HOST) and needs no
 * credential: it names no tenant or function, and only the node's own
 * processes reach it (docs/adr/0013-metrics.md).
 */
export async function startMetricsServer(options: { host: string; port: number; metrics: AgentMetrics; logger: Logger }): Promise<MetricsServer> {
  const { metrics, logger } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    metrics.scrape().then(
      (text) => res.writeHead(200, { "content-type": metricsContentType, "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : text),
      (err: unknown) => {
        logger.error({ err }, "metrics scrape failed");
        res.writeHead(500, { "content-type": "text/plain" }).end("scrape failed\n");
      },
    );
  });
  server.listen(options.port, options.host);
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
