"use strict";
/**
 * Isle's in-container server for Node.js functions (no dependencies).
 *
 * Serves HTTP/1.1 on a Unix socket (ISLE_SOCKET, default /run/isle/http.sock) and calls the
 * OpenFaaS-style handler exported by ISLE_APP/index.js (ISLE_APP default /app):
 *
 *   module.exports = async (event, context) => context.status(200).succeed({ hello: "world" });
 *
 * event: { method, path, query (name -> value, or array when repeated), headers (lower-case), body }
 * where body is parsed JSON for a JSON content type, a string for text/* and form posts, else a
 * Buffer (undefined when empty). context: status(code), headers(object), succeed(value),
 * fail(error); an optional third argument is a callback(err, value). A handler that returns a
 * value without calling succeed answers with that value. docs/adr/0028-container-functions.md.
 */
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const { AsyncLocalStorage } = require("node:async_hooks");

const socketPath = process.env.ISLE_SOCKET || "/run/isle/http.sock";
const appDir = process.env.ISLE_APP || "/app";
// The platform enforces the function's body caps first; this bounds what a broken peer can make us buffer.
const maxBody = Number(process.env.ISLE_MAX_BODY || 64 * 1024 * 1024);

function log(message) {
  process.stderr.write(`isle-watchdog: ${message}\n`);
}

// Lines written while a request runs carry its invocation id, so the agent files each line under
// the right invocation however many run at once (ADR 0029): "\x1e<id>\x1f<line>". The agent strips
// the tag; a line without one goes to whichever invocation it guesses.
const invocation = new AsyncLocalStorage();
const invocationId = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Makes `stream` tag each whole line written inside a request with that request's invocation id. */
function tagLines(stream) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, encoding, callback) => {
    const current = invocation.getStore();
    if (!current) return write(chunk, encoding, callback);
    const text = (current.pending.get(stream) ?? "") + (typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    const lines = text.split("\n");
    current.pending.set(stream, lines.pop());
    const done = typeof encoding === "function" ? encoding : callback;
    if (lines.length === 0) {
      if (done) process.nextTick(done);
      return true;
    }
    return write(lines.map((line) => `\x1e${current.id}\x1f${line}\n`).join(""), done);
  };
  return write;
}
const rawWrites = new Map([process.stdout, process.stderr].map((stream) => [stream, tagLines(stream)]));

/** Writes what a request left without a final newline, tagged. */
function endRequest(current) {
  for (const [stream, rest] of current.pending) {
    if (rest) rawWrites.get(stream)(`\x1e${current.id}\x1f${rest}\n`);
  }
  current.pending.clear();
}

async function loadHandler() {
  const file = ["index.js", "index.cjs", "index.mjs", "handler.js"].map((f) => path.join(appDir, f)).find((f) => fs.existsSync(f));
  if (!file) throw new Error(`no index.js in ${appDir}`);
  let loaded;
  try {
    loaded = require(file);
  } catch (error) {
    if (error && error.code !== "ERR_REQUIRE_ESM") throw error;
    loaded = await import(pathToFileURL(file).href);
  }
  const handler = typeof loaded === "function" ? loaded : loaded && (loaded.default ?? loaded.handler);
  if (typeof handler !== "function") throw new Error(`${file} exports no handler function (module.exports = async (event, context) => ...)`);
  return handler;
}

function parseBody(buffer, contentType) {
  if (buffer.length === 0) return undefined;
  const type = (contentType || "").split(";")[0].trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) return JSON.parse(buffer.toString("utf8"));
  if (type.startsWith("text/") || type === "application/x-www-form-urlencoded") return buffer.toString("utf8");
  return buffer;
}

function queryObject(searchParams) {
  const query = {};
  for (const [name, value] of searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

/** The `context` a handler answers through; `outcome` settles once, on succeed or fail. */
function createContext() {
  let settle;
  const outcome = new Promise((resolve) => (settle = resolve));
  const state = { status: 200, headers: {}, done: false };
  const context = {
    status(code) {
      if (code === undefined) return state.status;
      state.status = code;
      return context;
    },
    headers(values) {
      if (values === undefined) return state.headers;
      state.headers = { ...state.headers, ...values };
      return context;
    },
    succeed(value) {
      if (!state.done) settle({ ok: true, value });
      state.done = true;
      return context;
    },
    fail(error) {
      if (!state.done) settle({ ok: false, error });
      state.done = true;
      return context;
    },
  };
  return { context, state, outcome };
}

function encode(value, headers) {
  const has = (name) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === "string") {
    if (!has("content-type")) headers["content-type"] = "text/plain; charset=utf-8";
    return Buffer.from(value, "utf8");
  }
  if (!has("content-type")) headers["content-type"] = "application/json";
  return Buffer.from(JSON.stringify(value), "utf8");
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    request.on("data", (chunk) => {
      size += chunk.length;
      if (size > maxBody) {
        reject(Object.assign(new Error("request body too large"), { status: 413 }));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function send(response, status, headers, body) {
  response.writeHead(status, { ...headers, "content-length": body.length });
  response.end(body);
}

async function serve(handler, request, response) {
  let event;
  try {
    const url = new URL(request.url, "http://function");
    const body = await readBody(request);
    let parsed;
    try {
      parsed = parseBody(body, request.headers["content-type"]);
    } catch {
      return send(response, 400, { "content-type": "text/plain; charset=utf-8" }, Buffer.from("the body is not valid JSON\n"));
    }
    event = { method: request.method, path: url.pathname, query: queryObject(url.searchParams), headers: request.headers, body: parsed, rawBody: body };
  } catch (error) {
    const status = error && error.status === 413 ? 413 : 400;
    return send(response, status, { "content-type": "text/plain; charset=utf-8" }, Buffer.from(`${error.message}\n`));
  }
  const { context, state, outcome } = createContext();
  const callback = (error, value) => (error ? context.fail(error) : context.succeed(value));
  try {
    const returned = handler(event, context, callback);
    // An async handler's resolved value is its answer unless it answered through the context; a
    // synchronous one that returns nothing answers later through the context or the callback.
    // It may also answer through the context before its promise settles, or never settle it.
    if (returned && typeof returned.then === "function") {
      returned.then(
        (value) => value !== context && context.succeed(value),
        (error) => context.fail(error),
      );
    } else if (returned !== undefined && returned !== context) context.succeed(returned);
  } catch (error) {
    context.fail(error);
  }
  const result = await outcome;
  if (!result.ok) {
    const error = result.error;
    log(`${request.method} ${request.url} failed: ${error instanceof Error ? error.stack : JSON.stringify(error)}`);
    return send(response, state.status >= 400 ? state.status : 500, { "content-type": "text/plain; charset=utf-8" }, Buffer.from("internal error\n"));
  }
  const headers = { ...state.headers };
  send(response, state.status, headers, encode(result.value, headers));
}

async function main() {
  const handler = await loadHandler();
  const server = http.createServer((request, response) => {
    const id = String(request.headers["x-isle-invocation-id"] ?? "");
    const current = invocationId.test(id) ? { id, pending: new Map() } : undefined;
    const run = () =>
      serve(handler, request, response).catch((error) => {
        log(`${request.method} ${request.url}: ${error && error.stack}`);
        if (!response.headersSent) send(response, 500, {}, Buffer.from("internal error\n"));
        else response.destroy();
      });
    if (!current) return void run();
    invocation.run(current, run);
    response.once("close", () => endRequest(current));
  });
  // Listen on a temporary name, then rename: the socket appears only once it accepts connections,
  // so its existence is the readiness signal. The rename replaces a previous replica's socket.
  const partial = `${socketPath}.${process.pid}.tmp`;
  fs.rmSync(partial, { force: true });
  server.listen(partial, () => {
    fs.renameSync(partial, socketPath);
    log(`serving on ${socketPath}`);
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

main().catch((error) => {
  log(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
