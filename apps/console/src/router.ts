import { useEffect, useState } from "preact/hooks";

/** Where the console is mounted; Vite's `base`. */
export const base = "/console";

/** The pages, parsed from the path below /console. */
export type Route =
  | { page: "home" }
  | { page: "tenants" }
  | { page: "agents" }
  | { page: "keys"; tenant: string }
  | { page: "functions"; tenant: string }
  | { page: "function"; tenant: string; fn: string }
  | { page: "invocation"; tenant: string; fn: string; id: string }
  | { page: "not-found" };

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(base) ? pathname.slice(base.length) : pathname;
  const parts = rest.split("/").filter(Boolean).map(decodeURIComponent);
  const [a, tenant, b, fn, c, id] = parts;
  if (parts.length === 0) return { page: "home" };
  if (a === "tenants" && parts.length === 1) return { page: "tenants" };
  if (a === "agents" && parts.length === 1) return { page: "agents" };
  if (a === "t" && tenant && b === "keys" && parts.length === 3) return { page: "keys", tenant };
  if (a === "t" && tenant && b === "functions") {
    if (parts.length === 3) return { page: "functions", tenant };
    if (fn && parts.length === 4) return { page: "function", tenant, fn };
    if (fn && c === "invocations" && id && parts.length === 6) return { page: "invocation", tenant, fn, id };
  }
  return { page: "not-found" };
}

/** The console URL of a page. */
export function href(route: Exclude<Route, { page: "not-found" }>): string {
  const e = encodeURIComponent;
  switch (route.page) {
    case "home":
      return `${base}/`;
    case "tenants":
      return `${base}/tenants`;
    case "agents":
      return `${base}/agents`;
    case "keys":
      return `${base}/t/${e(route.tenant)}/keys`;
    case "functions":
      return `${base}/t/${e(route.tenant)}/functions`;
    case "function":
      return `${base}/t/${e(route.tenant)}/functions/${e(route.fn)}`;
    case "invocation":
      return `${base}/t/${e(route.tenant)}/functions/${e(route.fn)}/invocations/${e(route.id)}`;
  }
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** The current path, re-rendering on back/forward and on navigate(). */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener("popstate", update);
    return () => removeEventListener("popstate", update);
  }, []);
  return path;
}
