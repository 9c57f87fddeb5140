import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { confirm } from "../terminal/input.js";
import { table } from "../terminal/table.js";
import { action, type JsonOption } from "./action.js";
import { functionUrl, type FunctionInfo } from "./views.js";

/** `isle functions ls|get|rm`. */
export function register(program: Command, io: CliIo): void {
  const functions = program.command("functions").alias("fn").description("list, show and delete functions");
  functions
    .command("ls")
    .description("list the tenant's functions")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, _args, options) => {
        const { functions: list } = await ctx.client().json<{ functions: FunctionInfo[] }>("GET", await ctx.tenantPath("/functions"));
        if (options.json) return ctx.json({ functions: list });
        if (list.length === 0) return ctx.note("no functions yet: `isle init` makes one, `isle deploy` uploads it");
        ctx.out(table(["NAME", "VISIBILITY", "RUNTIME", "ACTIVE DEPLOYMENT", "UPDATED"], list.map((f) => [f.name, f.visibility, f.runtime, f.activeDeploymentId, f.updatedAt])));
      }),
    );
  functions
    .command("get")
    .description("show a function's settings and URL")
    .argument("<function>")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, [name], options) => {
        const fn = await ctx.client().json<FunctionInfo>("GET", await ctx.functionPath(name!));
        if (options.json) return ctx.json(fn);
        const rows: Array<[string, string]> = [
          ["name", fn.name],
          ["url", functionUrl(ctx.client().baseUrl, await ctx.tenant(), fn.name)],
          ["visibility", fn.visibility],
          ["runtime", fn.runtime],
          ["active deployment", fn.activeDeploymentId ?? "-"],
          ["traffic split", fn.traffic ? `${fn.traffic.percent}% to ${fn.traffic.deploymentId}` : "-"],
          ["env", Object.keys(fn.env).join(", ") || "-"],
          ["limits", JSON.stringify(fn.limits)],
          ["scale", JSON.stringify(fn.scale)],
          ["updated", fn.updatedAt],
        ];
        for (const [key, value] of rows) ctx.out(`${`${key}:`.padEnd(19)}${value}`);
      }),
    );
  functions
    .command("rm")
    .description("delete a function, its versions, secrets and records")
    .argument("<function>")
    .option("-y, --yes", "do not ask")
    .action(
      action<{ yes?: boolean }>(io, async (ctx, [name], options) => {
        const path = await ctx.functionPath(name!);
        if (!options.yes && !(await confirm(io, `Delete function ${name} of tenant ${await ctx.tenant()}?`))) return ctx.note("kept");
        await ctx.client().request("DELETE", path);
        ctx.note(`deleted ${await ctx.tenant()}/${name}`);
      }),
    );
}
