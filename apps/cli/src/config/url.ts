import { usageError } from "../http/cli-error.js";

const loopback = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * A gateway URL as `isle` stores it: scheme and host in lower case, no trailing slash, no
 * `/v1` suffix (people paste the API's URL), no query or fragment. Without a scheme, `http://`
 * for loopback hosts and `https://` for every other, since keys must not cross the network in
 * clear text by accident.
 */
export function normaliseUrl(input: string): string {
  const trimmed = input.trim();
  if (!trimmed) throw usageError("the gateway URL is empty");
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)
    ? trimmed
    : `${loopback.test(trimmed.split(/[/:]/)[0] ?? "") || trimmed.startsWith("[::1]") ? "http" : "https"}://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw usageError(`${JSON.stringify(input)} is not a URL`, "give the gateway's address, e.g. http://127.0.0.1:8080");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw usageError(`the gateway URL must be http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) throw usageError("the gateway URL must not carry credentials", "pass the key with --key or on stdin");
  if (url.search || url.hash) throw usageError("the gateway URL must not have a query or fragment");
  const path = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  return `${url.protocol}//${url.host}${path}`;
}
