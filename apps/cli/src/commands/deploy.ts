import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { Context, CliIo } from "../context.js";
import { usageError } from "../http/cli-error.js";
import type { StackFunction } from "../stack/stack-file.js";
import { action } from "./action.js";

interface DeployOptions {
  name?: string;
  entry?: string;
  message?: string;
  public?: boolean;
  file?: string;
  filter?: string;
  includeNodeModules?: boolean;
}

/** The stack file `isle deploy` reads when given neither a directory nor a name. */
export const defaultStackFile = "isle.yaml";

/** `isle deploy`: a directory, or the functions of a stack file. Only URLs go to stdout. */
export function register(program: Command, io: CliIo): void {
  program
    .command("deploy")
    .description("upload a function's directory (or every function of isle.yaml) and wait until it serves; prints its URL")
    .argument("[dir]", "the function's directory (default: the current one, or isle.yaml when it is there)")
    .option("-n, --name <function>", "the function's name (default: the directory's name)")
    .option("--entry <file>", "the entry module (default: index.ts, index.js, main.ts, main.js or mod.ts)")
    .option("-m, --message <text>", "a note kept with the version")
    .option("--public", "make the function invokable without a key")
    .option("-f, --file <isle.yaml>", "deploy the functions of a stack file")
    .option("--filter <names>", "with a stack file: only these functions (comma-separated)")
    .option("--include-node-modules", "upload node_modules too (default: left out; the build installs packages itself)")
    .action(
      action<DeployOptions, [string | undefined]>(io, async (ctx, [dir], options) => {
        if (dir && options.file) throw usageError("give a directory or a stack file (-f), not both");
        const stackPath = options.file ?? (!dir && !options.name && existsSync(join(io.cwd, defaultStackFile)) ? defaultStackFile : undefined);
        if (stackPath) return deployStack(ctx, resolve(io.cwd, stackPath), options);
        if (options.filter) throw usageError("--filter picks functions of a stack file", "use it with -f isle.yaml");
        const { deployDirectory, nameFromDir } = await import("../deploy/upload.js");
        const directory = resolve(io.cwd, dir ?? ".");
        const name = options.name ?? nameFromDir(directory);
        if (!name) throw usageError(`cannot name the function after ${directory}`, "give one with --name <function>");
        const { url } = await deployDirectory(ctx, {
          name,
          dir: directory,
          entry: options.entry,
          message: options.message,
          settings: options.public ? { visibility: "public" } : undefined,
          includeNodeModules: options.includeNodeModules,
        });
        ctx.out(url);
      }),
    );
}

/** Deploys a stack file's functions one after the other, stopping at the first failure. */
async function deployStack(ctx: Context, path: string, options: DeployOptions): Promise<void> {
  if (options.name || options.entry || options.public) throw usageError("--name, --entry and --public are the stack file's to say", `set them in ${path}`);
  // Loaded when used: every `isle` start would otherwise pay for the YAML parser and the tar code.
  const { filterFunctions, loadStackFile } = await import("../stack/stack-file.js");
  const { deployDirectory } = await import("../deploy/upload.js");
  const stack = loadStackFile(path);
  const chosen = filterFunctions(stack, options.filter);
  if (stack.tenant && !ctx.globals.tenant) ctx.globals.tenant = stack.tenant;
  for (const fn of chosen) {
    const { url } = await deployDirectory(ctx, {
      name: fn.name,
      dir: fn.dir,
      entry: fn.entry,
      message: options.message,
      settings: settingsOf(fn),
      includeNodeModules: options.includeNodeModules,
    });
    if (fn.schedules) {
      await ctx.client().json("PUT", await ctx.functionPath(fn.name, "/schedules"), { json: { schedules: fn.schedules } });
      ctx.note(`${fn.name}: ${fn.schedules.length} schedule${fn.schedules.length === 1 ? "" : "s"} set`);
    }
    ctx.out(url);
  }
}

/** The function settings a stack file entry states (absent ones keep the server's value). */
export function settingsOf(fn: StackFunction): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (fn.runtime) settings.runtime = fn.runtime;
  if (fn.visibility) settings.visibility = fn.visibility;
  if (fn.env) settings.env = fn.env;
  if (fn.limits) settings.limits = fn.limits;
  if (fn.scale) settings.scale = fn.scale;
  return settings;
}
