// Closed-loop load: each caller sends a request, reads the whole answer, then
// sends the next, so a stalled request holds its caller (as a real client
// would be held) instead of piling up more requests behind it.
import http from "node:http";
import { finished } from "node:stream";
import { performance } from "node:perf_hooks";

/** Far past any deadline Isle sets, so only a broken stack makes the client give up. */
const clientTimeoutMs = 60_000;

/** One GET; resolves { start, end, status, body, headers } on performance.now()'s clock, status 0 when the connection failed. */
export function timedGet(url, agent) {
  return new Promise((done) => {
    const start = performance.now();
    const fail = () => done({ start, end: performance.now(), status: 0, body: "", headers: {} });
    const req = http.get(url, { agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      finished(res, (err) => (err ? fail() : done({ start, end: performance.now(), status: res.statusCode, body, headers: res.headers })));
    });
    req.setTimeout(clientTimeoutMs, () => req.destroy());
    req.on("error", fail);
  });
}

/**
 * Starts `callers` closed loops on `url` over keep-alive connections.
 * stop() waits for the requests in flight and resolves with every request's
 * { start, end, status }.
 */
export function closedLoop(url, { callers = 8 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: callers });
  const records = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const { start, end, status } = await timedGet(url, agent);
      records.push({ start, end, status });
    }
  };
  const loops = Array.from({ length: callers }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return records;
    },
  };
}
