import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { CliError, exitCodes } from "../http/cli-error.js";
import { table } from "../terminal/table.js";
import { action, type JsonOption } from "./action.js";
import type { DeploymentInfo } from "./views.js";

/** `isle deployments ls|rollback`. */
export function register(program: Command, io: CliIo): void {
  const deployments = program.command("deployments").alias("dep").description("list a function's versions and roll back");
  deployments
    .command("ls")
    .description("list a function's versions, newest first")
    .argument("<function>")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, [fn], options) => {
        const { deployments: list } = await ctx.client().json<{ deployments: DeploymentInfo[] }>("GET", await ctx.functionPath(fn!, "/deployments"));
        if (options.json) return ctx.json({ deployments: list });
        ctx.out(
          table(
            ["", "VERSION", "ID", "SOURCE", "CREATED", "TRAFFIC", "MESSAGE"],
            list.map((d) => [d.active ? "*" : " ", d.version, d.id, d.source, d.createdAt, `${d.trafficPercent}%`, d.message]),
          ),
        );
      }),
    );
  deployments
    .command("rollback")
    .description("make an earlier version the active one (default: the one before the active version)")
    .argument("<function>")
    .argument("[deployment]", "a deployment id, or a version number")
    .action(
      action<object, [string, string | undefined]>(io, async (ctx, [fn, which]) => {
        const { deployments: list } = await ctx.client().json<{ deployments: DeploymentInfo[] }>("GET", await ctx.functionPath(fn, "/deployments"));
        const target = pickTarget(list, which);
        await ctx.client().json("POST", await ctx.functionPath(fn, `/deployments/${encodeURIComponent(target.id)}/activate`));
        ctx.note(`${await ctx.tenant()}/${fn} now serves version ${target.version} (${target.id})`);
      }),
    );
}

/** The deployment `which` names (id or version), or the newest one older than the active one. */
export function pickTarget(list: DeploymentInfo[], which: string | undefined): DeploymentInfo {
  if (which !== undefined) {
    const found = list.find((d) => d.id === which || String(d.version) === which.replace(/^v/, ""));
    if (!found) throw new CliError(`no deployment ${JSON.stringify(which)}`, exitCodes.usage, "`isle deployments ls <function>` lists them");
    return found;
  }
  const active = list.find((d) => d.active);
  const previous = list.filter((d) => !active || d.version < active.version).sort((a, b) => b.version - a.version)[0];
  if (!previous) throw new CliError("there is no earlier version to roll back to", exitCodes.usage);
  return previous;
}
