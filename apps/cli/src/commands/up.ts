import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { CliError, exitCodes } from "../http/cli-error.js";
import { findCheckout } from "../local/checkout.js";
import { action } from "./action.js";

interface UpOptions {
  port?: string;
  dataDir?: string;
}

/** `isle up`: exactly `npm start` — sets up, builds, runs every part, deploys the demo. */
export function register(program: Command, io: CliIo): void {
  program
    .command("up")
    .description("run Isle on this machine, as `npm start` does (Ctrl-C stops it)")
    .option("--port <port>", "the gateway's port (ISLE_PORT, default 8080)")
    .option("--data-dir <dir>", "where Isle keeps its data (ISLE_DATA_DIR, default ./.isle of the checkout)")
    .action(
      action<UpOptions>(io, async (_ctx, _args, options) => {
        const root = findCheckout();
        const env = { ...io.env, ...(options.port ? { ISLE_PORT: options.port } : {}), ...(options.dataDir ? { ISLE_DATA_DIR: options.dataDir } : {}) };
        const child = spawn(process.execPath, [join(root, "scripts", "start.mjs")], { cwd: root, env, stdio: "inherit" });
        // Signals are passed on and start.mjs stops its parts. A terminal's Ctrl-C reaches it
        // twice (it is in our process group too); it stops once.
        const forward = (signal: NodeJS.Signals) => child.kill(signal);
        process.on("SIGTERM", forward);
        process.on("SIGINT", forward);
        const code = await new Promise<number>((resolve) => child.on("exit", (status, signal) => resolve(status ?? (signal ? 0 : 1))));
        process.off("SIGTERM", forward);
        process.off("SIGINT", forward);
        if (code !== 0) throw new CliError(`Isle stopped with exit code ${code}`, exitCodes.api);
      }),
    );
}
