import type { Command } from "commander";
import { Context, type CliIo, type GlobalOptions } from "../context.js";

/**
 * Wraps a command's handler for commander: builds the command's Context from the global
 * options (--profile, --tenant) and hands it the positional arguments and the command's own
 * options. Errors propagate to main, which prints them and picks the exit code.
 */
export function action<O extends object, A extends unknown[] = string[]>(io: CliIo, handler: (ctx: Context, args: A, options: O) => Promise<void>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const options = command.opts() as O;
    const ctx = new Context(io, command.optsWithGlobals() as GlobalOptions);
    await handler(ctx, params.slice(0, -2) as A, options);
  };
}

/** `--json` on read commands. */
export interface JsonOption {
  json?: boolean;
}

/** Collects a repeatable option's values (`-H a -H b`). */
export const repeatable = (value: string, previous: string[] = []): string[] => [...previous, value];
