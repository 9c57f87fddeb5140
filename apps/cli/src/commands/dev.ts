import type { Command } from "commander";
import type { CliIo } from "../context.js";
import type { DevOptions } from "../local/dev.js";
import { action } from "./action.js";

/** `isle dev [dir]`: see local/dev.ts (loaded only when used). */
export function register(program: Command, io: CliIo): void {
  program
    .command("dev")
    .description("run a function locally on the production runtime, redeploying on every save")
    .argument("[dir]", "the function's directory", ".")
    .option("-n, --name <function>", "the function's name (default: the directory's name)")
    .option("--entry <file>", "the entry module")
    .option("--port <port>", "the local gateway's port (default: a free one)")
    .option("--verbose", "show the local Isle's own logs")
    .option("--remote", "deploy on save to the profile's gateway and tenant instead of a local Isle")
    .action(
      action<DevOptions, [string]>(io, async (ctx, [dirArg], options) => {
        const { runDev } = await import("../local/dev.js");
        await runDev(ctx, io, dirArg, options);
      }),
    );
}

