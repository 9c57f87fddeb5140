import { CliError, exitCodes, parseServerError, serverError } from "./cli-error.js";

/** Where a client sends requests and with which credential. */
export interface Credentials {
  /** The gateway's base URL, normalised (no trailing slash). */
  url: string;
  /** An API key `isk_…` or the operator token. */
  key: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** A JSON body; sets content-type. */
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Hand back error answers instead of throwing (invoke: a function's own 4xx/5xx). */
  allowErrors?: boolean;
  signal?: AbortSignal;
}

export type Fetch = typeof fetch;

/** Prints one debug line (ISLE_DEBUG=1); never given a credential. */
export type DebugLog = (line: string) => void;

const secretHeaders = new Set(["authorization", "x-api-key", "cookie"]);

/**
 * The one place `isle` talks HTTP. Error answers in Isle's shape become a CliError with the
 * server's code, message, request id and a hint; an unreachable server is a CliError too.
 * With a debug log, each call is printed — method, URL, headers with credentials redacted,
 * status and time — and nothing else (bodies may hold secret values).
 */
export class IsleClient {
  constructor(
    readonly credentials: Credentials,
    private readonly fetchImpl: Fetch = fetch,
    private readonly debug?: DebugLog,
  ) {}

  get baseUrl(): string {
    return this.credentials.url;
  }

  /** A URL under the gateway, with the query's defined values. */
  url(path: string, query: RequestOptions["query"] = {}): string {
    const url = new URL(this.credentials.url + path);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
    return url.toString();
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers = new Headers(options.headers);
    headers.set("authorization", `Bearer ${this.credentials.key}`);
    headers.set("user-agent", "isle-cli");
    let body = options.body;
    if (options.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(options.json);
    }
    const url = this.url(path, options.query);
    this.debug?.(`→ ${method} ${url}`);
    for (const [name, value] of headers) this.debug?.(`  ${name}: ${secretHeaders.has(name) ? "[redacted]" : value}`);
    const started = performance.now();
    let res: Response;
    try {
      const init: RequestInit & { duplex?: "half" } = { method, headers, body: body ?? null, signal: options.signal ?? null };
      // A streamed upload (deploy progress) needs half-duplex in Node's fetch.
      if (body instanceof ReadableStream) init.duplex = "half";
      res = await this.fetchImpl(url, init);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw unreachable(this.credentials.url, err);
    }
    this.debug?.(`← ${res.status} ${res.statusText} in ${Math.round(performance.now() - started)} ms`);
    if (res.ok || options.allowErrors) return res;
    throw await errorOf(res);
  }

  /** A JSON call: the parsed answer, or a CliError. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`${method} ${path} answered ${res.status} with something that is not JSON`, exitCodes.network, notIsle);
    }
  }
}

const notIsle = "is the URL an Isle gateway? check it with `isle login` or ISLE_URL";

/** The CliError for an error answer: the server's own, or a plain one when it is not Isle's shape. */
export async function errorOf(res: Response): Promise<CliError> {
  const text = await res.text().catch(() => "");
  const parsed = parseServerError(res.status, text);
  if (parsed) return serverError(parsed);
  return new CliError(`HTTP ${res.status} ${res.statusText} (not an Isle error answer)`, exitCodes.network, notIsle);
}

function unreachable(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new CliError(`cannot reach ${url}: ${why}`, exitCodes.network, "is Isle running there? `isle up` starts one here; `isle login <url>` changes the URL");
}
