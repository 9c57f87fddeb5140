import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { usageError } from "../http/cli-error.js";
import { table } from "../terminal/table.js";
import { action, repeatable, type JsonOption } from "./action.js";
import type { KeyInfo } from "./views.js";

const scopes = ["invoke", "deploy", "read", "admin"];

interface CreateOptions extends JsonOption {
  name: string;
  scope: string[];
  function?: string;
  expires?: string;
}

/** `isle keys create|ls|revoke` (admin scope). */
export function register(program: Command, io: CliIo): void {
  const keys = program.command("keys").description("the tenant's API keys (needs the admin scope)");
  keys
    .command("create")
    .description("mint a key; prints the key alone on stdout, the only time it is shown")
    .requiredOption("--name <name>", "what the key is for")
    .option("--scope <scope>", `a scope (${scopes.join(", ")}); repeat for several`, repeatable, [])
    .option("--function <function>", "restrict the key to one function")
    .option("--expires <when>", "an ISO 8601 time, or a duration like 30d, 12h, 90m")
    .option("--json", "print { id, key } as JSON")
    .action(
      action<CreateOptions>(io, async (ctx, _args, options) => {
        const wanted = options.scope.flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
        if (wanted.length === 0) throw usageError("give at least one --scope", `scopes: ${scopes.join(", ")}`);
        for (const s of wanted) if (!scopes.includes(s)) throw usageError(`unknown scope ${JSON.stringify(s)}`, `scopes: ${scopes.join(", ")}`);
        const body = {
          name: options.name,
          scopes: wanted,
          ...(options.function ? { functionName: options.function } : {}),
          ...(options.expires ? { expiresAt: expiryOf(options.expires, new Date()) } : {}),
        };
        const created = await ctx.client().json<{ id: string; key: string }>("POST", await ctx.tenantPath("/keys"), { json: body });
        if (options.json) return ctx.json(created);
        ctx.out(created.key);
        ctx.note(`created key ${created.id} (${wanted.join(", ")}) for tenant ${await ctx.tenant()}; it is not shown again`);
      }),
    );
  keys
    .command("ls")
    .description("list keys (never their secrets)")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, _args, options) => {
        const { keys: list } = await ctx.client().json<{ keys: KeyInfo[] }>("GET", await ctx.tenantPath("/keys"));
        if (options.json) return ctx.json({ keys: list });
        ctx.out(
          table(
            ["ID", "NAME", "SCOPES", "FUNCTION", "EXPIRES", "REVOKED"],
            list.map((k) => [k.id, k.name, k.scopes.join(","), k.functionName, k.expiresAt, k.revokedAt]),
          ),
        );
      }),
    );
  keys
    .command("revoke")
    .description("revoke a key; every gateway refuses it within a second")
    .argument("<id>", "the key's id (key_…), as `isle keys ls` shows it")
    .action(
      action(io, async (ctx, [id]) => {
        await ctx.client().request("DELETE", await ctx.tenantPath(`/keys/${encodeURIComponent(id!)}`));
        ctx.note(`revoked ${id}`);
      }),
    );
}

/** An ISO time, or `<n>d|h|m` from `now`, as the ISO string the API takes. */
export function expiryOf(value: string, now: Date): string {
  const relative = /^(\d+)([dhm])$/.exec(value);
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as "d" | "h" | "m"];
    return new Date(now.getTime() + Number(relative[1]) * unit).toISOString();
  }
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw usageError(`--expires ${JSON.stringify(value)} is neither a time nor a duration`, "e.g. 30d, 12h, 2027-01-01T00:00:00Z");
  return at.toISOString();
}
