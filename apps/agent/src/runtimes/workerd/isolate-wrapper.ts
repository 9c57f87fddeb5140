import { consoleCaptureSource } from "./isolate-console.js";

/**
 * Modules the supervisor adds to every tenant isolate, in front of the
 * function's own main module. They tie each outbound request and each line
 * of output to the invocation that made it, so the egress can count
 * subrequests per invocation and carry that invocation's trace context and
 * call token, and the invocation's record gets its own output:
 *
 * - the prelude (imported first, so it runs before any tenant module and no
 *   tenant code can keep the unwrapped fetch) wraps `fetch` to tag each
 *   request with the current invocation, held in an AsyncLocalStorage, and
 *   captures `console.*` and uncaught exceptions per invocation
 *   (isolate-console.ts);
 * - the main wrapper runs each `fetch` event inside that storage, with the
 *   invocation id the supervisor passes as the entrypoint's props, and holds
 *   the response until the output written before it has reached the agent.
 *
 * The tag is only a hint: the agent checks that the invocation it names runs
 * in the isolate the request came from, so a function can only ever charge
 * its own invocations. The tenant's code could remove the tag, but a request
 * without one counts against the isolate's newest invocation anyway.
 */

/** Request header carrying the invocation id from the isolate to the egress. */
export const egressTagHeader = "x-isle-egress-invocation";

/** Module names the supervisor reserves inside an isolate. */
export const wrapperModules = { prelude: "__isle_prelude.js", main: "__isle_main.js" } as const;

/**
 * The main wrapper's named entrypoint the supervisor calls to prewarm an
 * isolate: reaching it makes workerd load and evaluate the modules (the
 * tenant's top-level code runs, as at any cold start) and answers 204
 * without calling any handler of the function. A tenant export of the same
 * name is shadowed: a module's own export wins over `export *`.
 */
export const prewarmEntrypoint = "__isle_prewarm";

export const preludeSource = `import { AsyncLocalStorage } from "node:async_hooks";
// The store is the invocation's log (isolate-console.ts); its id tags requests.
export const invocation = new AsyncLocalStorage();
const platformFetch = globalThis.fetch;
const EGRESS_TAG = ${JSON.stringify(egressTagHeader)};
export function tagged(send) {
  return function (input, init) {
    const id = invocation.getStore()?.id;
    if (id === undefined) return send(input, init);
    let request;
    try {
      request = new Request(input, init);
    } catch (err) {
      return Promise.reject(err);
    }
    request.headers.set(EGRESS_TAG, id);
    return send(request);
  };
}
globalThis.fetch = tagged(platformFetch);
${consoleCaptureSource}`;

/**
 * Source of the main wrapper, as a JS function the supervisor calls with the
 * function's main module name (an import specifier relative to the wrapper).
 * Named exports pass through unchanged; the default export keeps every
 * handler, with `fetch` run inside the invocation's storage and given a ctx
 * whose `waitUntil` records a rejection as the invocation's exception. The
 * FUNCTIONS binding, when present, is wrapped the same way as the global
 * fetch.
 */
export const mainWrapperFactorySource = `function mainWrapper(userMain) {
  const spec = JSON.stringify("./" + userMain);
  return [
    'import { invocation, tagged, beginLog, flushed, uncaught, withLog } from "./${wrapperModules.prelude}";',
    "import * as user from " + spec + ";",
    "export * from " + spec + ";",
    "const base = user.default;",
    "const envs = new WeakMap();",
    "function withCalls(env) {",
    "  if (!env || typeof env !== 'object' || !env.FUNCTIONS || typeof env.FUNCTIONS.fetch !== 'function') return env;",
    "  let wrapped = envs.get(env);",
    "  if (!wrapped) {",
    "    const calls = env.FUNCTIONS;",
    "    wrapped = { ...env, FUNCTIONS: { fetch: tagged((input, init) => calls.fetch(input, init)) } };",
    "    envs.set(env, wrapped);",
    "  }",
    "  return wrapped;",
    "}",
    "function start(ctx) {",
    "  const id = ctx && ctx.props ? ctx.props.invocation : undefined;",
    "  return id === undefined ? undefined : beginLog(id, ctx);",
    "}",
    // The answer waits for the output written before it: the agent then has it for the trailer.
    "function within(log, run) {",
    "  if (log === undefined) return run();",
    "  return invocation.run(log, async () => {",
    "    let response;",
    "    try {",
    "      response = await run();",
    "    } catch (err) {",
    "      uncaught(log, err);",
    "      await flushed(log);",
    "      throw err;",
    "    }",
    "    await flushed(log);",
    "    return response;",
    "  });",
    "}",
    "const logs = new WeakMap();",
    "let wrapped = base;",
    "if (base && typeof base === 'object' && typeof base.fetch === 'function') {",
    "  wrapped = { ...base, fetch(request, env, ctx) {",
    "    const log = start(ctx);",
    "    return within(log, () => base.fetch.call(base, request, withCalls(env), log ? withLog(ctx, log) : ctx));",
    "  } };",
    "} else if (typeof base === 'function' && base.prototype && typeof base.prototype.fetch === 'function') {",
    "  wrapped = class extends base {",
    "    constructor(ctx, env) {",
    "      const log = start(ctx);",
    "      if (log) invocation.run(log, () => super(withLog(ctx, log), env));",
    "      else super(ctx, env);",
    "      logs.set(this, log);",
    "    }",
    "    fetch(request) { return within(logs.get(this), () => super.fetch(request)); }",
    "  };",
    "}",
    "export default wrapped;",
    "export const ${prewarmEntrypoint} = { fetch() { return new Response(null, { status: 204 }); } };",
  ].join("\\n");
}`;
