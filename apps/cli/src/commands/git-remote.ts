import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { action } from "./action.js";

/** `isle git-remote <function>`: the remote to push the function's repository to. */
export function register(program: Command, io: CliIo): void {
  program
    .command("git-remote")
    .description("print the git remote URL of a function (push to it to deploy)")
    .argument("<function>")
    .action(
      action<object, [string]>(io, async (ctx, [fn]) => {
        const tenant = await ctx.tenant();
        const url = `${ctx.client().baseUrl}/git/${encodeURIComponent(tenant)}/${encodeURIComponent(fn)}.git`;
        ctx.out(url);
        ctx.note(`git remote add isle ${url}`);
        ctx.note("git push isle main   (user: anything; password: an API key with the deploy scope)");
      }),
    );
}
