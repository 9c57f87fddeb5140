import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { usageError } from "../http/cli-error.js";
import { readSecret } from "../terminal/input.js";
import { table } from "../terminal/table.js";
import { action, type JsonOption } from "./action.js";
import { envName } from "./env.js";

/** `isle secrets set|ls|rm`: sealed at rest, write-only; values never come from arguments. */
export function register(program: Command, io: CliIo): void {
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
