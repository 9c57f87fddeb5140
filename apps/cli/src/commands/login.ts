import type { Command } from "commander";
import { checkProfileName, readConfig, writeConfig } from "../config/profiles.js";
import { normaliseUrl } from "../config/url.js";
import type { CliIo } from "../context.js";
import { CliError, exitCodes, usageError } from "../http/cli-error.js";
import { IsleClient } from "../http/client.js";
import { readSecret } from "../terminal/input.js";
import { table } from "../terminal/table.js";
import { action, type JsonOption } from "./action.js";

/** What GET /v1/whoami answers. */
export interface Whoami {
  kind: "operator" | "key";
  tenant: string | null;
  keyId: string | null;
  scopes: string[];
  functionName: string | null;
}

/**
 * The server's word on the credential. A gateway older than /v1/whoami answers 404 there: the
 * login then rests on --tenant, and the key is checked by the first real command.
 */
async function whoami(client: IsleClient, tenant: string | undefined): Promise<Whoami> {
  try {
    return await client.json<Whoami>("GET", "/v1/whoami");
  } catch (err) {
    if (!(err instanceof CliError) || err.server?.status !== 404) throw err;
    if (!tenant) throw new CliError("this gateway cannot tell a key's tenant (it has no /v1/whoami)", exitCodes.usage, "log in with --tenant <name>");
    return { kind: "key", tenant, keyId: null, scopes: [], functionName: null };
  }
}

interface LoginOptions {
  key?: string;
}

/** `isle login`, `isle whoami`, `isle profiles ls|use|rm`. */
export function register(program: Command, io: CliIo): void {
  program
    .command("login")
    .description("save a profile: the gateway URL and an API key (or the operator token), checked against the server")
    .argument("[url]", "the gateway's URL, e.g. http://127.0.0.1:8080 (default: the profile's, or ISLE_URL)")
    .option("--key <key>", "the key (default: a hidden prompt, or stdin when it is not a terminal)")
    .action(
      action<LoginOptions, [string | undefined]>(io, async (ctx, [urlArg], options) => {
        const path = ctx.configPath;
        const config = readConfig(path);
        // Not the current profile: `isle login` without --profile is the "default" one.
        const name = checkProfileName(ctx.profileName());
        const given = urlArg ?? config.profiles[name]?.url ?? io.env.ISLE_URL;
        if (!given) throw usageError("which gateway? give its URL", "isle login http://127.0.0.1:8080");
        const url = normaliseUrl(given);
        const key = (options.key ?? (await readSecret(io, "API key or operator token: "))).trim();
        const me = await whoami(new IsleClient({ url, key }, io.fetch, ctx.debug), ctx.globals.tenant);
        let tenant = me.tenant;
        if (ctx.globals.tenant) {
          if (me.kind === "key" && me.tenant !== ctx.globals.tenant) {
            throw new CliError(`this key belongs to tenant ${JSON.stringify(me.tenant)}, not ${JSON.stringify(ctx.globals.tenant)}`, exitCodes.usage);
          }
          tenant = ctx.globals.tenant;
        }
        config.profiles[name] = { url, key, tenant };
        config.current = name;
        writeConfig(path, config);
        const who = me.kind === "operator" ? "the operator" : `key ${me.keyId} of tenant ${me.tenant} (${me.scopes.join(", ")})`;
        ctx.note(`Logged in to ${url} as ${who}.`);
        ctx.note(`Profile ${JSON.stringify(name)} saved in ${path}${tenant && me.kind === "operator" ? ` (tenant ${tenant})` : ""}.`);
      }),
    );

  program
    .command("whoami")
    .description("show who the current credentials are")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, _args, options) => {
        const me = await ctx.client().json<Whoami>("GET", "/v1/whoami");
        if (options.json) return ctx.json({ url: ctx.client().baseUrl, ...me });
        const who = me.kind === "operator" ? "operator" : `tenant ${me.tenant}, key ${me.keyId} (${me.scopes.join(", ")})${me.functionName ? `, function ${me.functionName} only` : ""}`;
        ctx.out(`${who} at ${ctx.client().baseUrl}`);
      }),
    );

  const profiles = program.command("profiles").description("list, choose and remove saved profiles");
  profiles
    .command("ls")
    .description("list profiles (never their keys)")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, _args, options) => {
        const config = readConfig(ctx.configPath);
        const rows = Object.entries(config.profiles).map(([name, p]) => ({ name, url: p.url, tenant: p.tenant, current: name === config.current }));
        if (options.json) return ctx.json({ profiles: rows });
        ctx.out(table(["", "NAME", "URL", "TENANT"], rows.map((r) => [r.current ? "*" : " ", r.name, r.url, r.tenant ?? "(operator)"])));
      }),
    );
  profiles
    .command("use")
    .description("make a profile the current one")
    .argument("<name>")
    .action(
      action(io, async (ctx, [name]) => {
        const config = readConfig(ctx.configPath);
        if (!name || !config.profiles[name]) throw new CliError(`no profile named ${JSON.stringify(name)}`, exitCodes.config, "`isle profiles ls` lists them");
        config.current = name;
        writeConfig(ctx.configPath, config);
        ctx.note(`Now using profile ${JSON.stringify(name)}.`);
      }),
    );
  profiles
    .command("rm")
    .description("forget a profile and its key")
    .argument("<name>")
    .action(
      action(io, async (ctx, [name]) => {
        const config = readConfig(ctx.configPath);
        if (!name || !config.profiles[name]) throw new CliError(`no profile named ${JSON.stringify(name)}`, exitCodes.config);
        delete config.profiles[name];
        if (config.current === name) delete config.current;
        writeConfig(ctx.configPath, config);
        ctx.note(`Removed profile ${JSON.stringify(name)}.`);
      }),
    );
}
