import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CliError, exitCodes } from "../http/cli-error.js";

/** One saved login. */
export interface Profile {
  url: string;
  /** An API key or the operator token. Kept in a 0600 file, never printed. */
  key: string;
  /** The key's tenant as the server named it at login; null for the operator token. */
  tenant: string | null;
}

/** The config file: named profiles and the one used when none is asked for. */
export interface ConfigFile {
  current?: string;
  profiles: Record<string, Profile>;
}

/** `$XDG_CONFIG_HOME/isle/config.json`, else `~/.config/isle/config.json`. */
export function configPath(env: Record<string, string | undefined>): string {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, ".config") : undefined);
  if (!base) throw new CliError("cannot find a config directory: neither XDG_CONFIG_HOME nor HOME is set", exitCodes.config);
  return join(base, "isle", "config.json");
}

/** The config file's contents; an empty config when it does not exist yet. */
export function readConfig(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { profiles: {} };
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, exitCodes.config);
  }
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFile>;
    if (!parsed || typeof parsed !== "object" || typeof parsed.profiles !== "object" || parsed.profiles === null) throw new Error("no profiles");
    return { ...(parsed.current ? { current: parsed.current } : {}), profiles: parsed.profiles };
  } catch {
    throw new CliError(`${path} is not an isle config file`, exitCodes.config, "fix it, or remove it and run `isle login` again");
  }
}

/**
 * Writes the config readable by its owner alone (0600, directory 0700), atomically: a
 * crash leaves the old file or the new one, never half of it.
 */
export function writeConfig(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync's mode only applies to a new file, and the umask may have narrowed it anyway.
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** Profile names are what a user types after --profile. */
export function checkProfileName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new CliError(`${JSON.stringify(name)} is not a profile name (letters, digits, '.', '_', '-')`, exitCodes.usage);
  }
  return name;
}
