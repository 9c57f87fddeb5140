import { lineCutSuffix, logLimits } from "../../logs/invocation-log.js";

/**
 * URL the isolate posts its invocations' output to. It goes out through the
 * isolate's global outbound, which is the supervisor's Egress entrypoint; the
 * supervisor recognises it and hands the body to the agent instead of
 * sending it anywhere. `.invalid` is reserved (RFC 6761): no real
 * destination can have this name.
 */
export const logsUrl = "http://isle-logs.invalid/";

/**
 * Part of the prelude (see isolate-wrapper.ts): captures each invocation's
 * `console.log/info/warn/error/debug` output and uncaught exceptions, by the
 * invocation in the AsyncLocalStorage, so invocations running at once in
 * one isolate never mix.
 *
 * Arguments are formatted as Node does (`util.format`, loaded on first need: strings as they are,
 * objects inspected). Each invocation's lines are posted to `logsUrl` as
 * they come, at most one post in flight (the rest wait and go together);
 * the wrapper holds the response until what was written before it is
 * posted, so the agent has it before the trailer. Output after the response
 * (`ctx.waitUntil` work) is posted the same way and kept alive with
 * `waitUntil`. Output outside any invocation (a module's top level, run
 * while the isolate loads) goes with the next invocation.
 *
 * Each post names its invocation in the egress tag header, as a request of
 * the invocation's would. Expects `invocation` (the AsyncLocalStorage),
 * `platformFetch` and `EGRESS_TAG` in scope.
 */
export const consoleCaptureSource = `const LOGS_URL = ${JSON.stringify(logsUrl)};
const MAX_LINES = ${logLimits.maxLines};
const MAX_BYTES = ${logLimits.maxBytes};
const MAX_LINE_BYTES = ${logLimits.maxLineBytes};
const CUT = ${JSON.stringify(lineCutSuffix)};
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function newLog(id, ctx) {
  return { id, ctx, lines: [], count: 0, bytes: 0, truncated: false, truncatedSent: false, sending: undefined };
}
let unclaimed = newLog(undefined, undefined);

export function beginLog(id, ctx) {
  const log = newLog(id, ctx);
  log.lines = unclaimed.lines;
  log.count = unclaimed.count;
  log.bytes = unclaimed.bytes;
  log.truncated = unclaimed.truncated;
  unclaimed = newLog(undefined, undefined);
  if (log.lines.length > 0) flushSoon(log);
  return log;
}

function cap(message) {
  if (message.length * 3 <= MAX_LINE_BYTES) return message;
  const bytes = utf8.encode(message.slice(0, MAX_LINE_BYTES + 1));
  if (bytes.length <= MAX_LINE_BYTES && message.length <= MAX_LINE_BYTES) return message;
  let end = MAX_LINE_BYTES - utf8.encode(CUT).length;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return fromUtf8.decode(bytes.subarray(0, end)) + CUT;
}

// Node's util.format, loaded by the first line that needs it: importing node:util up front
// made every isolate about 0.45 MB larger (bench/README.md, "Density"), logging or not.
// Primitives without a format string are joined as util.format joins them.
const builtinModule = process.getBuiltinModule.bind(process);
let nodeFormat;
function primitive(value) {
  return value === null || (typeof value !== "object" && typeof value !== "function");
}
function primitiveText(value) {
  if (typeof value === "number" && Object.is(value, -0)) return "-0";
  if (typeof value === "bigint") return value + "n";
  return String(value);
}
function format(...args) {
  if (args.every(primitive) && !(typeof args[0] === "string" && args[0].includes("%"))) return args.map(primitiveText).join(" ");
  nodeFormat ??= builtinModule("node:util").format;
  return nodeFormat(...args);
}

function formatted(args) {
  try {
    return format(...args);
  } catch (err) {
    return "[this line could not be formatted: " + String(err) + "]";
  }
}

function write(log, level, message) {
  if (log.truncated) return;
  message = cap(message);
  const size = utf8.encode(message).length;
  if (log.count >= MAX_LINES || log.bytes + size > MAX_BYTES) log.truncated = true;
  else {
    log.count++;
    log.bytes += size;
    log.lines.push({ unixMs: Date.now(), level, message });
  }
  if (log.id !== undefined) flushSoon(log);
}

function pending(log) {
  return log.lines.length > 0 || log.truncated !== log.truncatedSent;
}

// After the current synchronous burst, so that its lines go in one post.
function flushSoon(log) {
  if (log.sending) return;
  log.sending = Promise.resolve().then(() => send(log));
  try {
    log.ctx.waitUntil(log.sending);
  } catch {
    // The invocation's context is gone; the post still runs while the isolate does.
  }
}

async function send(log) {
  while (pending(log)) {
    const lines = log.lines;
    log.lines = [];
    const truncated = log.truncated && !log.truncatedSent;
    log.truncatedSent = log.truncated;
    const body = JSON.stringify({ lines, truncated });
    try {
      const res = await platformFetch(LOGS_URL, { method: "POST", headers: { [EGRESS_TAG]: log.id }, body });
      await res.body?.cancel();
    } catch {
      // Lost output is not the function's failure.
    }
  }
  log.sending = undefined;
}

/** Resolves once everything written so far has been posted. */
export function flushed(log) {
  if (pending(log)) flushSoon(log);
  return log.sending;
}

export function uncaught(log, error, where) {
  write(log, "exception", "Uncaught " + (where ? where + " " : "") + formatted([error]));
}

/** ctx for the handler: a rejected waitUntil promise is recorded as the invocation's exception. */
export function withLog(ctx, log) {
  const waitUntil = (promise) =>
    ctx.waitUntil(Promise.resolve(promise).then(undefined, (err) => uncaught(log, err, "(in waitUntil)")));
  return new Proxy(ctx, {
    get(target, key) {
      if (key === "waitUntil") return waitUntil;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const current = () => invocation.getStore() ?? unclaimed;
for (const level of ["log", "info", "warn", "error", "debug"]) {
  globalThis.console[level] = function (...args) {
    write(current(), level, formatted(args));
  };
}
addEventListener("unhandledrejection", (event) => uncaught(current(), event.reason, "(in promise)"));
addEventListener("error", (event) => uncaught(current(), event.error ?? event.message));
`;
