import type { Readable } from "node:stream";
import { configPath, readConfig, type Profile } from "./config/profiles.js";
import { CliError, exitCodes } from "./http/cli-error.js";
import { IsleClient, type DebugLog, type Fetch } from "./http/client.js";
import { normaliseUrl } from "./config/url.js";

/** A stream `isle` writes to; isTTY decides between live progress and plain lines. */
export interface Output {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
}

/** Everything a command may touch of the outside world, passed in so tests can replace it. */
export interface CliIo {
  stdout: Output;
  stderr: Output;
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  env: Record<string, string | undefined>;
  cwd: string;
  fetch: Fetch;
}

/** The options every command takes (declared on the program). */
export interface GlobalOptions {
  profile?: string;
  tenant?: string;
}

/** Who `isle` talks to for one command: the URL, the key and (for tenant commands) the tenant. */
export interface Target {
  client: IsleClient;
  profileName: string;
  profile: Profile | undefined;
}

/**
 * One command's view of the world: its output streams, the profile and credentials it
 * resolves (flags, then ISLE_* variables, then the config file), and an HTTP client.
 */
export class Context {
  private target: Target | undefined;
  private tenantName: string | undefined;

  constructor(
    readonly io: CliIo,
    readonly globals: GlobalOptions,
  ) {}

  /** A line on stdout: the command's result, and nothing else. */
  out(line: string): void {
    this.io.stdout.write(`${line}\n`);
  }

  /** A line on stderr: progress, notes, anything that is not the result. */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  json(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  get debug(): DebugLog | undefined {
    const on = this.io.env.ISLE_DEBUG;
    if (!on || on === "0" || on === "false") return undefined;
    return (line) => this.io.stderr.write(`isle debug: ${line}\n`);
  }

  get configPath(): string {
    return configPath(this.io.env);
  }

  /** --profile, else ISLE_PROFILE, else the config's current profile, else "default". */
  profileName(current?: string): string {
    return this.globals.profile ?? this.io.env.ISLE_PROFILE ?? current ?? "default";
  }

  /** The URL and key to use: ISLE_URL and ISLE_API_KEY win over the profile's. */
  resolve(): Target {
    if (this.target) return this.target;
    const config = readConfig(this.configPath);
    const profileName = this.profileName(config.current);
    const profile = config.profiles[profileName];
    if (this.globals.profile && !profile && !(this.io.env.ISLE_URL && this.io.env.ISLE_API_KEY)) {
      throw new CliError(`no profile named ${JSON.stringify(profileName)}`, exitCodes.config, `\`isle login --profile ${profileName} <url>\` creates it`);
    }
    const url = this.io.env.ISLE_URL ? normaliseUrl(this.io.env.ISLE_URL) : profile?.url;
    const key = this.io.env.ISLE_API_KEY || profile?.key;
    if (!url || !key) {
      throw new CliError("not logged in", exitCodes.config, "run `isle login <gateway URL>`, or set ISLE_URL and ISLE_API_KEY");
    }
    this.target = { client: new IsleClient({ url, key }, this.io.fetch, this.debug), profileName, profile };
    return this.target;
  }

  client(): IsleClient {
    return this.resolve().client;
  }

  /**
   * The tenant commands act on: --tenant, else ISLE_TENANT, else the profile's (when the key is
   * the profile's), else whatever the server says the key belongs to.
   */
  async tenant(): Promise<string> {
    if (this.tenantName) return this.tenantName;
    const explicit = this.globals.tenant ?? this.io.env.ISLE_TENANT;
    const { profile, client } = this.resolve();
    let tenant = explicit ?? (this.io.env.ISLE_API_KEY ? undefined : profile?.tenant ?? undefined);
    if (!tenant) {
      const me = await client.json<{ kind: string; tenant: string | null }>("GET", "/v1/whoami");
      if (!me.tenant) throw new CliError("the operator token belongs to no tenant", exitCodes.usage, "name one with --tenant <name> (or ISLE_TENANT)");
      tenant = me.tenant;
    }
    this.tenantName = tenant;
    return tenant;
  }

  /** `/v1/tenants/<tenant>` followed by `rest`, names escaped. */
  async tenantPath(rest = ""): Promise<string> {
    return `/v1/tenants/${encodeURIComponent(await this.tenant())}${rest}`;
  }

  /** `/v1/tenants/<tenant>/functions/<fn>` followed by `rest`. */
  async functionPath(fn: string, rest = ""): Promise<string> {
    return this.tenantPath(`/functions/${encodeURIComponent(fn)}${rest}`);
  }
}
