import { spawn } from "node:child_process";
import { once } from "node:events";
import { setPriority } from "node:os";

/** One request of a steady load: when it started (ms since the load began), how it ended, how long it took. */
export interface LoadSample {
  url: string;
  startedMs: number;
  /** The HTTP status, or "error" when no response came (refused, reset, timed out). */
  status: number | "error";
  durationMs: number;
  /** Why no response came, or the start of a 5xx answer's body. */
  error?: string;
}

export interface SteadyLoadOptions {
  /** Requests per second, started on schedule whether or not earlier ones have finished (open loop). */
  rate: number;
  /** A request without a response by then counts as an error. Default 10 s. */
  timeoutMs?: number;
  /** At most this many requests in flight; a request due past it is not sent and counts as "error". Default 256. */
  maxInFlight?: number;
}

/**
 * Steady HTTP load from the test process, spread round-robin over `urls` (several gateways,
 * say), so a test can kill parts of Isle under traffic and then ask what clients saw.
 */
export class SteadyLoad {
  readonly samples: LoadSample[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private readonly began = performance.now();
  private sent = 0;

  private constructor(
    private readonly urls: readonly string[],
    private readonly options: Required<SteadyLoadOptions>,
  ) {
    // One tick per request would drift under a busy event loop: each tick sends what is due by now.
    this.timer = setInterval(() => this.catchUp(), Math.max(1, Math.floor(1000 / options.rate)));
  }

  static start(urls: readonly string[], options: SteadyLoadOptions): SteadyLoad {
    if (urls.length === 0 || options.rate <= 0) throw new Error("a load needs at least one URL and a positive rate");
    return new SteadyLoad(urls, { timeoutMs: 10_000, maxInFlight: 256, ...options });
  }

  /** Milliseconds since the load began, on the samples' clock (monotonic, finer than a millisecond). */
  now(): number {
    return performance.now() - this.began;
  }

  /** Stops sending, waits for what is in flight, and returns every sample. */
  async stop(): Promise<LoadSample[]> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
    return this.samples;
  }

  /** Samples by outcome: `{ "200": 97, "502": 2, error: 1 }`, over those started in [fromMs, toMs). */
  counts(fromMs = 0, toMs = Infinity): Record<string, number> {
    return countOutcomes(this.samples, fromMs, toMs);
  }

  private catchUp(): void {
    const due = Math.floor((this.now() * this.options.rate) / 1000);
    while (this.sent < due) {
      const url = this.urls[this.sent % this.urls.length]!;
      this.sent++;
      if (this.inFlight.size >= this.options.maxInFlight) {
        this.samples.push({ url, startedMs: this.now(), status: "error", durationMs: 0, error: "not sent: too many requests in flight" });
        continue;
      }
      const request = this.send(url).finally(() => this.inFlight.delete(request));
      this.inFlight.add(request);
    }
  }

  private async send(url: string): Promise<void> {
    this.samples.push(await timedRequest(url, this.options.timeoutMs, () => this.now()));
  }
}

export interface ConcurrentLoadOptions {
  /** Requests in flight at any moment: each worker sends its next request when its last one ends (closed loop). */
  concurrency: number;
  /** A request without a response by then counts as an error. Default 10 s. */
  timeoutMs?: number;
}

/**
 * A fixed number of requests always in flight, spread round-robin over `urls`; the number can
 * be stepped up or down while it runs, to see how the scaler answers a change of concurrency.
 */
export class ConcurrentLoad {
  readonly samples: LoadSample[] = [];
  private readonly workers = new Set<Promise<void>>();
  private readonly began = performance.now();
  private readonly timeoutMs: number;
  private concurrency = 0;
  /** Indexes of the workers running now; worker i runs while i < concurrency. */
  private readonly active = new Set<number>();
  private sent = 0;

  private constructor(private readonly urls: readonly string[], options: ConcurrentLoadOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.setConcurrency(options.concurrency);
  }

  static start(urls: readonly string[], options: ConcurrentLoadOptions): ConcurrentLoad {
    if (urls.length === 0 || options.concurrency < 0) throw new Error("a load needs at least one URL and a concurrency of 0 or more");
    return new ConcurrentLoad(urls, options);
  }

  /** Milliseconds since the load began, on the samples' clock (monotonic, finer than a millisecond). */
  now(): number {
    return performance.now() - this.began;
  }

  /** More workers start at once; fewer, and the extra ones stop once their request ends. */
  setConcurrency(n: number): void {
    this.concurrency = n;
    for (let index = 0; index < n; index++) {
      if (this.active.has(index)) continue;
      this.active.add(index);
      const worker = this.work(index).finally(() => this.workers.delete(worker));
      this.workers.add(worker);
    }
  }

  /** Stops sending, waits for what is in flight, and returns every sample. */
  async stop(): Promise<LoadSample[]> {
    this.concurrency = 0;
    await Promise.all([...this.workers]);
    return this.samples;
  }

  /** Samples by outcome over those started in [fromMs, toMs), as SteadyLoad.counts. */
  counts(fromMs = 0, toMs = Infinity): Record<string, number> {
    return countOutcomes(this.samples, fromMs, toMs);
  }

  private async work(index: number): Promise<void> {
    try {
      while (index < this.concurrency) {
        const url = this.urls[this.sent++ % this.urls.length]!;
        this.samples.push(await timedRequest(url, this.timeoutMs, () => this.now()));
      }
    } finally {
      this.active.delete(index);
    }
  }
}

/** What an open-loop load run in a process of its own saw: answers by status ("error": none came). */
export type StatusCounts = Record<string, number>;

// The load generator of openLoopInChild: node:http with kept-alive connections, a fraction of
// fetch()'s client CPU per request; sends what is due on each tick, like SteadyLoad.
const openLoopScript = `
const http = require("node:http");
const [url, rate, durationMs, timeoutMs] = process.argv.slice(1).map((a, i) => (i === 0 ? a : Number(a)));
const total = Math.floor((durationMs * rate) / 1000);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const counts = {};
let sent = 0, done = 0;
const began = Date.now();
const settle = (status) => {
  counts[status] = (counts[status] ?? 0) + 1;
  if (++done === total) { agent.destroy(); process.stdout.write(JSON.stringify(counts)); }
};
const timer = setInterval(() => {
  const due = Math.min(total, Math.floor(((Date.now() - began) * rate) / 1000));
  for (; sent < due; sent++) {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => settle(res.statusCode));
      res.on("error", () => settle("error"));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => settle("error"));
  }
  if (sent === total) clearInterval(timer);
}, Math.max(1, Math.floor(1000 / rate)));
if (total === 0) process.stdout.write("{}");
`;

export interface OpenLoopOptions {
  /** Requests per second, sent on schedule whether or not earlier ones have finished. */
  rate: number;
  durationMs: number;
  /** A request without a response by then counts as "error". Default 10 s. */
  timeoutMs?: number;
  /**
   * The load process's nice value (-20–19). 19 keeps the client's own CPU, which on a real
   * deployment would be on another machine, from competing with what is measured on this one.
   */
  nice?: number;
}

/**
 * Open-loop GETs of `url` at `rate` per second for `durationMs`, sent from a child process —
 * another client, as a second tenant's traffic would be, whose CPU stays out of this process's
 * event loop (and so out of the latencies a SteadyLoad here measures). Resolves once every
 * request has been answered or has failed.
 */
export async function openLoopInChild(url: string, options: OpenLoopOptions): Promise<StatusCounts> {
  const args = [url, String(options.rate), String(options.durationMs), String(options.timeoutMs ?? 10_000)];
  const child = spawn(process.execPath, ["-e", openLoopScript, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  if (options.nice !== undefined && child.pid !== undefined) setPriority(child.pid, options.nice);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += String(d)));
  child.stderr.on("data", (d: Buffer) => (err += String(d)));
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`open-loop load ended with ${code}: ${err}`);
  return JSON.parse(out) as StatusCounts;
}

/** One GET with a timeout, as a sample on the `now` clock; never throws. */
async function timedRequest(url: string, timeoutMs: number, now: () => number): Promise<LoadSample> {
  const startedMs = now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    const sample: LoadSample = { url, startedMs, status: res.status, durationMs: now() - startedMs };
    // A failure's answer says why (the platform's error JSON).
    if (res.status >= 500) sample.error = body.slice(0, 300);
    return sample;
  } catch (err) {
    return { url, startedMs, status: "error", durationMs: now() - startedMs, error: err instanceof Error ? err.message : String(err) };
  }
}

function countOutcomes(samples: readonly LoadSample[], fromMs: number, toMs: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) {
    if (s.startedMs >= fromMs && s.startedMs < toMs) counts[String(s.status)] = (counts[String(s.status)] ?? 0) + 1;
  }
  return counts;
}
