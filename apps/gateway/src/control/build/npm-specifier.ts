/** A package import split into its parts: `npm:@scope/name@range/sub/path`. */
export interface PackageImport {
  name: string;
  /** The version range written after `@`; undefined when none was. */
  range: string | undefined;
  /** `/sub/path`, or "" for the package's main entry. */
  subpath: string;
}

const namePattern = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
// Registry ranges and dist-tags only: no `:` or `/`, so no file:, git, URL or
// GitHub shorthand can make the install read the gateway's disk or another host.
const rangePattern = /^[a-zA-Z0-9.^~<>=|*+ _-]{1,100}$/;

/** Whether `name` is a valid npm package name. */
export function isPackageName(name: string): boolean {
  return name.length <= 214 && namePattern.test(name);
}

/** Whether `range` is a version, range or dist-tag the registry can answer. */
export function isRegistryRange(range: string): boolean {
  return rangePattern.test(range);
}

/**
 * Parses `npm:` specifiers (with the prefix) and bare imports (without, and
 * without a range). Undefined when it is not a valid package import.
 */
export function parsePackageImport(specifier: string): PackageImport | undefined {
  const npm = specifier.startsWith("npm:");
  let rest = npm ? specifier.slice(4).replace(/^\//, "") : specifier;
  let name = "";
  if (rest.startsWith("@")) {
    const slash = rest.indexOf("/");
    if (slash === -1) return undefined;
    name = rest.slice(0, slash + 1);
    rest = rest.slice(slash + 1);
  }
  const end = rest.search(npm ? /[@/]/ : /\//);
  name += end === -1 ? rest : rest.slice(0, end);
  rest = end === -1 ? "" : rest.slice(end);
  let range: string | undefined;
  if (rest.startsWith("@")) {
    const slash = rest.indexOf("/");
    range = slash === -1 ? rest.slice(1) : rest.slice(1, slash);
    rest = slash === -1 ? "" : rest.slice(slash);
    if (!isRegistryRange(range)) return undefined;
  }
  if (!isPackageName(name)) return undefined;
  return { name, range, subpath: rest };
}
