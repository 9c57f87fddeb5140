#!/usr/bin/env node
import * as grpc from "@grpc/grpc-js";
import { createLogger } from "@isle/telemetry";
import { loadConfig } from "./config.js";
import { createProxyServer } from "./proxy.js";

const config = loadConfig(process.env);
const logger = createLogger({ service: "sidecar", level: config.logLevel });
const { server, close } = createProxyServer(config.agentSocket, logger);

server.bindAsync(`${config.host}:${config.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
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
    process.exit(0);
  });
}
