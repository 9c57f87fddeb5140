import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { table } from "../terminal/table.js";
import { action, type JsonOption } from "./action.js";
import type { ScheduleInfo } from "./views.js";

/**
 * `isle schedules ls|clear`. A function's schedules are declared in isle.yaml (`schedules:`),
 * isle.json / isle.toml, or with `PUT …/schedules`; these commands read and remove them.
 */
export function register(program: Command, io: CliIo): void {
  const schedules = program.command("schedules").description("a function's cron schedules (declare them in isle.yaml)");
  schedules
    .command("ls")
    .description("list a function's schedules with their next run")
    .argument("<function>")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, [fn], options) => {
        const { schedules: list } = await ctx.client().json<{ schedules: ScheduleInfo[] }>("GET", await ctx.functionPath(fn!, "/schedules"));
        if (options.json) return ctx.json({ schedules: list });
        ctx.out(
          table(
            ["NAME", "CRON", "TIMEZONE", "REQUEST", "ENABLED", "NEXT RUN", "LAST RUN"],
            list.map((s) => [s.name, s.cron, s.timezone, `${s.method} ${s.path}`, s.enabled ? "yes" : "no", s.nextRunAt ?? "-", s.lastRunAt ?? "-"]),
          ),
        );
      }),
    );
  schedules
    .command("clear")
    .description("remove every schedule of a function")
    .argument("<function>")
    .action(
      action<object, [string]>(io, async (ctx, [fn]) => {
        await ctx.client().json("PUT", await ctx.functionPath(fn, "/schedules"), { json: { schedules: [] } });
        ctx.note(`${await ctx.tenant()}/${fn} has no schedules now`);
      }),
    );
}
