import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { usageError } from "../http/cli-error.js";
import { readSecret } from "../terminal/input.js";
import { table } from "../terminal/table.js";
import { action, type JsonOption } from "./action.js";
import type { FunctionInfo } from "./views.js";

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

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

/** `isle env set|unset|ls` (plain variables) and `isle secrets set|ls|rm` (sealed, write-only). */
export function register(program: Command, io: CliIo): void {
  const env = program.command("env").description("a function's environment variables (shown by the API; use secrets for secret values)");
  // Read, change, write back: the API replaces the whole map. Two people editing the same
  // function's variables at the same instant may lose one change.
  const change = async (ctx: import("../context.js").Context, fn: string, edit: (vars: Record<string, string>) => void) => {
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

  const secrets = program.command("secrets").description("a function's secrets: sealed at rest, never shown again");
  secrets
    .command("set")
    .description("set a secret; the value comes from a hidden prompt, or from stdin when it is not a terminal")
    .argument("<function>")
    .argument("<name>")
    .action(
      action<object, [string, string]>(io, async (ctx, [fn, name]) => {
        if (!envName.test(name)) throw usageError(`${JSON.stringify(name)} is not a secret name`, "names are identifiers: letters, digits and '_'");
        const path = await ctx.functionPath(fn, `/secrets/${encodeURIComponent(name)}`);
        const value = await readSecret(io, `value of ${name}: `);
        const { created } = await ctx.client().json<{ created: boolean }>("PUT", path, { body: value, headers: { "content-type": "text/plain" } });
        ctx.note(`${created ? "created" : "updated"} secret ${name} of ${await ctx.tenant()}/${fn}`);
      }),
    );
  secrets
    .command("ls")
    .description("list a function's secrets (names and times, never values)")
    .argument("<function>")
    .option("--json", "print JSON")
    .action(
      action<JsonOption, [string]>(io, async (ctx, [fn], options) => {
        const { secrets: list } = await ctx.client().json<{ secrets: Array<{ name: string; updatedAt: string }> }>("GET", await ctx.functionPath(fn, "/secrets"));
        if (options.json) return ctx.json({ secrets: list });
        ctx.out(table(["NAME", "UPDATED"], list.map((s) => [s.name, s.updatedAt])));
      }),
    );
  secrets
    .command("rm")
    .description("delete a secret")
    .argument("<function>")
    .argument("<name>")
    .action(
      action<object, [string, string]>(io, async (ctx, [fn, name]) => {
        await ctx.client().request("DELETE", await ctx.functionPath(fn, `/secrets/${encodeURIComponent(name)}`));
        ctx.note(`deleted secret ${name} of ${await ctx.tenant()}/${fn}`);
      }),
    );
}
