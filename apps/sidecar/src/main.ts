#!/usr/bin/env node
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { createLogger, startTracing } from "@isle/telemetry";
import { loadConfig } from "./config.js";
import { TenantSlots } from "./limits.js";
import { createProxyServer } from "./proxy.js";

const config = loadConfig(process.env);
const logger = createLogger({ service: "sidecar", level: config.logLevel });
// The OpenTelemetry SDK reads its own standard OTEL_* variables (endpoint, batching, sampler).
const tracing = startTracing("isle-sidecar", process.env);
for (const note of tracing.notes) logger.warn(note);
const { server, close } = createProxyServer(config.agentSocket, logger, { tenantSlots: new TenantSlots(config.tenantConcurrency), tracing });

// Mutual TLS: a caller without a certificate of the platform CA fails the handshake.
const credentials = grpc.ServerCredentials.createSsl(
  readFileSync(config.tls.caFile),
  [{ cert_chain: readFileSync(config.tls.certFile), private_key: readFileSync(config.tls.keyFile) }],
  true,
);
server.bindAsync(`${config.host}:${config.port}`, credentials, (err, port) => {
  if (err) {
    logger.fatal({ err: err.message }, "cannot listen");
    process.exit(1);
  }
  logger.info({ address: `${config.host}:${port}`, agentSocket: config.agentSocket }, "sidecar listening");
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    logger.info({ signal }, "sidecar stopping");
    close();
    void tracing
      .shutdown()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  });
}
