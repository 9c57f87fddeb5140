import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { confirm } from "../terminal/input.js";
import { table } from "../terminal/table.js";
import { action, type JsonOption } from "./action.js";
import type { TenantInfo } from "./views.js";

/** `isle tenants ls|create|get|rm` (the operator token only). */
export function register(program: Command, io: CliIo): void {
  const tenants = program.command("tenants").description("tenants (operator token only)");
  tenants
    .command("ls")
    .description("list tenants")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, _args, options) => {
        const { tenants: list } = await ctx.client().json<{ tenants: TenantInfo[] }>("GET", "/v1/tenants");
        if (options.json) return ctx.json({ tenants: list });
        ctx.out(table(["NAME", "ID", "CREATED"], list.map((t) => [t.name, t.id, t.createdAt])));
      }),
    );
  tenants
    .command("create")
    .description("create a tenant")
    .argument("<name>")
    .action(
      action(io, async (ctx, [name]) => {
        const created = await ctx.client().json<{ id: string; name: string }>("POST", "/v1/tenants", { json: { name } });
        ctx.out(created.name);
        ctx.note(`created tenant ${created.name} (${created.id}); \`isle keys create --tenant ${created.name} --name admin --scope admin\` mints its first key`);
      }),
    );
  tenants
    .command("get")
    .description("show a tenant and its quotas")
    .argument("<name>")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, [name], options) => {
        const tenant = await ctx.client().json<TenantInfo>("GET", `/v1/tenants/${encodeURIComponent(name!)}`);
        if (options.json) return ctx.json(tenant);
        ctx.out(`name:     ${tenant.name}\nid:       ${tenant.id}\ncreated:  ${tenant.createdAt}\nquotas:   ${JSON.stringify(tenant.quotas)}`);
      }),
    );
  tenants
    .command("rm")
    .description("delete a tenant and everything it owns")
    .argument("<name>")
    .option("-y, --yes", "do not ask")
    .action(
      action<{ yes?: boolean }>(io, async (ctx, [name], options) => {
        if (!options.yes && !(await confirm(io, `Delete tenant ${name} and everything it owns?`))) return ctx.note("kept");
        await ctx.client().request("DELETE", `/v1/tenants/${encodeURIComponent(name!)}`);
        ctx.note(`deleted tenant ${name}`);
      }),
    );
}
