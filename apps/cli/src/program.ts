import { Command, CommanderError } from "commander";
import type { CliIo } from "./context.js";
import { CliError, describeFailure, exitCodes } from "./http/cli-error.js";
import * as deployments from "./commands/deployments.js";
import * as deploy from "./commands/deploy.js";
import * as dev from "./commands/dev.js";
import * as env from "./commands/env.js";
import * as functions from "./commands/functions.js";
import * as gitRemote from "./commands/git-remote.js";
import * as init from "./commands/init.js";
import * as invoke from "./commands/invoke.js";
import * as keys from "./commands/keys.js";
import * as login from "./commands/login.js";
import * as logs from "./commands/logs.js";
import * as schedules from "./commands/schedules.js";
import * as secrets from "./commands/secrets.js";
import * as tenants from "./commands/tenants.js";
import * as agents from "./commands/agents.js";
import * as up from "./commands/up.js";

/** The version `isle --version` prints. */
export const version = "0.0.0";

/** The `isle` program with every command, writing through `io`. */
export function createProgram(io: CliIo): Command {
  const program = new Command("isle")
    .description("Isle from the command line: deploy, invoke and manage functions")
    .version(version)
    .option("-p, --profile <name>", "the saved profile to use (ISLE_PROFILE; default: the current one)")
    .option("--tenant <name>", "the tenant to act on (ISLE_TENANT; default: the key's own)")
    .showHelpAfterError("(isle --help lists the commands)")
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .exitOverride();
  for (const command of [login, init, dev, deploy, invoke, logs, functions, deployments, schedules, env, secrets, keys, tenants, agents, gitRemote, up]) command.register(program, io);
  program.addHelpText(
    "after",
    "\nEnvironment: ISLE_URL and ISLE_API_KEY override the profile; ISLE_DEBUG=1 prints each HTTP call (never credentials).",
  );
  return program;
}

/** Runs `isle` with `argv` (without node and script) and answers the exit code; never exits itself. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCodes.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here too, successfully.
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (err instanceof CliError) {
      if (io.stderr.isTTY) io.stderr.write("\r\x1b[K");
      for (const line of describeFailure(err)) io.stderr.write(`${line}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
