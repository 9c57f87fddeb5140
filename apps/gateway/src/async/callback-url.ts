import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { addressKind, unbracket, type CidrList } from "@isle/config";
import { IsleError } from "@isle/errors";

/** Resolves a host name to its addresses (node:dns by default; tests pass their own). */
export type HostLookup = (host: string) => Promise<string[]>;

const systemLookup: HostLookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Checks an `X-Callback-Url`: http or https, no credentials in it, and every address its host
 * stands for on the public internet — a callback must not let a tenant make the platform reach
 * loopback, private or link-local services (the cloud metadata address among them) — unless
 * the operator allowlisted the address (`ISLE_CALLBACK_ALLOW`, like the agents'
 * `ISLE_EGRESS_ALLOW`). Checked when the invocation is accepted and again before each delivery,
 * since a name may point elsewhere by then. Throws `validation_failed` naming the problem.
 */
export async function checkCallbackUrl(text: string, allow: CidrList, resolve: HostLookup = systemLookup): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid("not an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid("only http and https URLs are accepted");
  if (url.username !== "" || url.password !== "") throw invalid("credentials in the URL are not accepted");
  const host = unbracket(url.hostname);
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    addresses = await resolve(host).catch(() => []);
    if (addresses.length === 0) throw invalid(`the host ${host} does not resolve`);
  }
  for (const address of addresses) {
    const kind = addressKind(address);
    if (kind !== "public" && !allow.has(address)) throw invalid(`the host resolves to a ${kind.replace("_", "-")} address`);
  }
  return url;
}

const invalid = (why: string) => new IsleError("validation_failed", `X-Callback-Url: ${why}`);
