import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError, exitCodes } from "../http/cli-error.js";

/**
 * The Isle checkout this CLI was built in: `isle up` and `isle dev` run its scripts/start.mjs
 * and built apps, so they work from a checkout (where `npm start` works), not from a lone copy
 * of the CLI.
 */
export function findCheckout(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "scripts", "start.mjs")) && existsSync(join(dir, "apps", "gateway"))) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new CliError("this command runs Isle from its source checkout, and none was found around the CLI", exitCodes.config, "run it from the `isle` of an Isle checkout (npm install links it)");
}

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
