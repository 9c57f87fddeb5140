// The management API as the CLI drives it (apps/cli/src/deploy/upload.ts): a tenant, then each
// function's sources POSTed as a tar.gz made by the CLI's own tarGz, so a benchmark's deploy is
// byte for byte what `isle deploy` sends. Also the helpers that benchmarks deploying many
// functions share: a hello world that answers its own text, bounded parallelism, and polling
// a function until it answers a given text.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { tarGz } from "../../apps/cli/dist/deploy/tar.js";

/** A public hello world answering `text`: a distinct text is a distinct artifact, so a distinct isolate. */
export function helloFiles(text) {
  return {
    "isle.json": JSON.stringify({ visibility: "public" }),
    "index.ts": `export default { fetch: () => new Response(${JSON.stringify(text)}) };\n`,
  };
}

/** A client of `isle` (startIsle's result) with the operator token. Any unexpected status throws. */
export function isleApi(isle) {
  const call = async (method, path, { json, body, headers = {}, expect = [200, 201] } = {}) => {
    const res = await fetch(`${isle.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${isle.adminToken}`, ...(json !== undefined && { "content-type": "application/json" }), ...headers },
      body: json !== undefined ? JSON.stringify(json) : body,
    });
    const text = await res.text();
    if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text === "" ? undefined : JSON.parse(text);
  };
  return {
    call,
    /** Creates a tenant; `quotas` (PATCH /v1/tenants/:tenant) lift its limits for a benchmark. */
    async tenant(name, quotas) {
      await call("POST", "/v1/tenants", { json: { name } });
      if (quotas) await call("PATCH", `/v1/tenants/${name}`, { json: { quotas } });
    },
    /** A deploy as `isle deploy` makes it: path → text, as a tar.gz; resolves once the version is active. */
    deploy(tenant, fn, files) {
      const archive = tarGz(Object.entries(files).map(([path, text]) => ({ path, content: Buffer.from(text) })));
      return call("POST", `/v1/tenants/${tenant}/functions/${fn}/deployments`, { body: archive, headers: { "content-type": "application/gzip" }, expect: [201] });
    },
    /** Every invocation record of the tenant, by invocation id (paged through the list route). */
    async invocations(tenant) {
      const byId = new Map();
      let cursor;
      do {
        const page = await call("GET", `/v1/tenants/${tenant}/invocations?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
        for (const record of page.invocations) byId.set(record.id, record);
        cursor = page.nextCursor;
      } while (cursor);
      return byId;
    },
    /** The agents as the control plane sees them (loadedFunctions, workerdReady, …). */
    agents: () => call("GET", "/v1/agents").then((body) => body.agents),
  };
}

/** Runs `task(item, index)` over `items` with at most `parallel` at once; rejects on the first failure. */
export async function inParallel(items, parallel, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
  return results;
}

/**
 * Polls `url` (every `everyMs`) until it answers 200 with exactly `text`; resolves with the
 * performance.now() of that answer. Anything else (an older version, a 503 while the function
 * starts, a refused connection) is polled past, until `timeoutMs`.
 */
export async function untilAnswers(url, text, { everyMs = 5, timeoutMs = 60_000 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const body = await fetch(url).then((r) => (r.ok ? r.text() : ""), () => "");
    if (body === text) return performance.now();
    if (performance.now() > deadline) throw new Error(`${url} did not answer ${JSON.stringify(text)} within ${timeoutMs} ms (last: ${JSON.stringify(body.slice(0, 200))})`);
    await sleep(everyMs);
  }
}
