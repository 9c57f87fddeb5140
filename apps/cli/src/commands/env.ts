import type { Command } from "commander";
import type { CliIo, Context } from "../context.js";
import { usageError } from "../http/cli-error.js";
import { action, type JsonOption } from "./action.js";
import type { FunctionInfo } from "./views.js";

/** Names of variables and secrets: identifiers, as the API requires. */
export const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `NAME=value` pairs; the value may be empty and may contain '='. */
export function parseAssignments(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    const name = at < 0 ? pair : pair.slice(0, at);
    if (at < 0 || !envName.test(name)) throw usageError(`${JSON.stringify(pair)} is not NAME=value`, "names are identifiers: letters, digits and '_'");
    out[name] = pair.slice(at + 1);
  }
  return out;
}

/** `isle env set|unset|ls`: plain variables (`isle secrets` for secret values). */
export function register(program: Command, io: CliIo): void {
  const env = program.command("env").description("a function's environment variables (shown by the API; use secrets for secret values)");
  // Read, change, write back: the API replaces the whole map. Two people editing the same
  // function's variables at the same instant may lose one change.
  const change = async (ctx: Context, fn: string, edit: (vars: Record<string, string>) => void) => {
    const path = await ctx.functionPath(fn);
    const current = await ctx.client().json<FunctionInfo>("GET", path);
    const vars = { ...current.env };
    edit(vars);
    await ctx.client().json("PUT", path, { json: { env: vars } });
    return vars;
  };
  env
    .command("set")
    .description("set variables: isle env set <function> NAME=value …")
    .argument("<function>")
    .argument("<assignments...>")
    .action(
      action<object, [string, string[]]>(io, async (ctx, [fn, pairs]) => {
        const values = parseAssignments(pairs);
        await change(ctx, fn, (vars) => Object.assign(vars, values));
        ctx.note(`set ${Object.keys(values).join(", ")} on ${await ctx.tenant()}/${fn}`);
      }),
    );
  env
    .command("unset")
    .description("remove variables: isle env unset <function> NAME …")
    .argument("<function>")
    .argument("<names...>")
    .action(
      action<object, [string, string[]]>(io, async (ctx, [fn, names]) => {
        await change(ctx, fn, (vars) => {
          for (const name of names) delete vars[name];
        });
        ctx.note(`unset ${names.join(", ")} on ${await ctx.tenant()}/${fn}`);
      }),
    );
  env
    .command("ls")
    .description("list a function's variables")
    .argument("<function>")
    .option("--json", "print JSON")
    .action(
      action<JsonOption, [string]>(io, async (ctx, [fn], options) => {
        const { env: vars } = await ctx.client().json<FunctionInfo>("GET", await ctx.functionPath(fn));
        if (options.json) return ctx.json({ env: vars });
        for (const [name, value] of Object.entries(vars).sort(([a], [b]) => a.localeCompare(b))) ctx.out(`${name}=${value}`);
      }),
    );
}
