/**
 * Sources of the modules the bundler adds to every function (ADR 0005). They
 * are strings, like the agent's supervisor, so they ship the same way from
 * `src/` under vitest and from `dist/` after `tsc`; esbuild reads them from a
 * virtual namespace. They run inside the tenant's isolate, never in the
 * gateway.
 */

/** Import specifier of the runtime shim (the `Deno` global and handler registry). */
export const runtimeModule = "isle:runtime";
/** Import specifier of the built-in stand-in for Deno's std `http/server.ts`. */
export const stdServeModule = "isle:std-http-server";
/** Import specifier of the generated wrapper entry. */
export const wrapperModule = "isle:entry";

/**
 * The runtime shim. Installs a minimal `Deno` global (serve, env) and a
 * `fetch` event registry, and exports `dispatch`, which the wrapper calls for
 * every request. The isolate's env comes from `cloudflare:workers`, which
 * workerd fills for Worker Loader isolates before any module is evaluated, so
 * top-level `Deno.env.get` already sees it; the env argument of each call
 * replaces it, should the two ever differ.
 */
export const runtimeShimSource = `import { env as moduleEnv } from "cloudflare:workers";

let currentEnv = moduleEnv ?? {};
// Deno.env.set/delete change only this isolate's view; undefined marks a delete.
const overrides = new Map();
let served;
const fetchListeners = [];

function envValue(key) {
  if (overrides.has(key)) return overrides.get(key);
  const value = currentEnv[key];
  return typeof value === "string" ? value : undefined;
}

const denoEnv = {
  get: (key) => envValue(String(key)),
  has: (key) => envValue(String(key)) !== undefined,
  set(key, value) {
    overrides.set(String(key), String(value));
  },
  delete(key) {
    overrides.set(String(key), undefined);
  },
  toObject() {
    const out = {};
    for (const key of new Set([...Object.keys(currentEnv), ...overrides.keys()])) {
      const value = envValue(key);
      if (value !== undefined) out[key] = value;
    }
    return out;
  },
};

// Deno's defaults, reported to onListen; an isolate has no port of its own.
const defaultHost = "0.0.0.0";
const defaultPort = 8000;

/** Deno.serve(handler) | Deno.serve({ handler, ... }) | Deno.serve(options, handler). */
export function serve(first, second) {
  const options = typeof first === "function" ? {} : (first ?? {});
  const handler = typeof first === "function" ? first : typeof second === "function" ? second : options.handler;
  if (typeof handler !== "function") throw new TypeError("Deno.serve: a handler function is required");
  // The first server registered answers; Deno would listen twice, an isolate cannot.
  if (!served) served = { handler, onError: options.onError };
  const addr = { transport: "tcp", hostname: options.hostname ?? defaultHost, port: options.port ?? defaultPort };
  if (typeof options.onListen === "function") queueMicrotask(() => options.onListen(addr));
  return {
    addr,
    // The isolate serves until the platform unloads it: never "finished".
    finished: new Promise(() => {}),
    shutdown: async () => {},
    ref() {},
    unref() {},
    [Symbol.asyncDispose]: async () => {},
  };
}

globalThis.Deno = { env: denoEnv, serve };

// Service-worker style: keep "fetch" listeners here, pass other events on.
const platformAdd = typeof globalThis.addEventListener === "function" ? globalThis.addEventListener.bind(globalThis) : undefined;
const platformRemove = typeof globalThis.removeEventListener === "function" ? globalThis.removeEventListener.bind(globalThis) : undefined;
globalThis.addEventListener = function addEventListener(type, listener, options) {
  if (type !== "fetch") return platformAdd?.(type, listener, options);
  if (listener && !fetchListeners.includes(listener)) fetchListeners.push(listener);
};
globalThis.removeEventListener = function removeEventListener(type, listener, options) {
  if (type !== "fetch") return platformRemove?.(type, listener, options);
  const at = fetchListeners.indexOf(listener);
  if (at !== -1) fetchListeners.splice(at, 1);
};

async function dispatchServe(request) {
  // x-isle-client-ip is set by the gateway and cannot be spoofed (ADR 0002).
  const hostname = request.headers.get("x-isle-client-ip") ?? defaultHost;
  const info = { remoteAddr: { transport: "tcp", hostname, port: 0 } };
  try {
    return await served.handler(request, info);
  } catch (err) {
    if (typeof served.onError === "function") return await served.onError(err);
    throw err;
  }
}

async function dispatchFetchEvent(request, ctx) {
  let answer;
  let responded = false;
  const event = {
    type: "fetch",
    request,
    respondWith(response) {
      if (responded) throw new Error("respondWith() was already called");
      responded = true;
      answer = response;
    },
    waitUntil(promise) {
      ctx?.waitUntil?.(promise);
    },
    passThroughOnException() {},
  };
  for (const listener of fetchListeners) {
    if (typeof listener === "function") listener.call(globalThis, event);
    else listener.handleEvent(event);
    if (responded) break;
  }
  if (!responded) throw new Error("no fetch listener called respondWith()");
  return await answer;
}

/**
 * Answers one request with whichever style registered a handler: the
 * default export's fetch first (the Workers contract), then Deno.serve, then
 * fetch event listeners.
 */
export async function dispatch(userDefault, request, env, ctx) {
  if (env && typeof env === "object") currentEnv = env;
  if (userDefault && typeof userDefault.fetch === "function") return await userDefault.fetch(request, env, ctx);
  if (served) return await dispatchServe(request);
  if (fetchListeners.length > 0) return await dispatchFetchEvent(request, ctx);
  throw new Error("the function registered no handler (export default { fetch }, Deno.serve or a fetch listener)");
}
`;

/**
 * Stand-in for `serve` of Deno's std `http/server.ts`: the same options,
 * served through the Deno.serve shim. It resolves at once rather than when
 * the server closes, because module evaluation in an isolate cannot wait on
 * a promise that never settles (`await serve(...)` at top level is common).
 */
export const stdServeShimSource = `import { serve as denoServe } from "${runtimeModule}";

export async function serve(handler, options = {}) {
  const localAddr = { transport: "tcp", hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 8000 };
  denoServe({ ...options, handler: (request, info) => handler(request, { localAddr, remoteAddr: info.remoteAddr }) });
}
`;

/**
 * The wrapper entry: the shim first (so `Deno` exists while the user's
 * modules evaluate), then the user's entry, then one default export that
 * dispatches. Named exports pass through for Workers entrypoints.
 */
export function wrapperSource(entryPath: string): string {
  const entry = JSON.stringify(`./${entryPath}`);
  return [
    `import { dispatch } from "${runtimeModule}";`,
    `import * as user from ${entry};`,
    `export * from ${entry};`,
    `const userDefault = user.default;`,
    `export default { fetch: (request, env, ctx) => dispatch(userDefault, request, env, ctx) };`,
    "",
  ].join("\n");
}
