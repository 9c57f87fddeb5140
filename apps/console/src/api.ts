import { readEvents, type SseEvent } from "./sse.js";

/** A tiny client of the management API (/v1), same origin, with the signed-in credential. */

export interface Whoami {
  kind: "operator" | "key";
  tenant: string | null;
  keyId: string | null;
  scopes: string[];
  functionName: string | null;
}

export interface IsleFunction {
  id: string;
  name: string;
  runtime: "workerd" | "container";
  visibility: "private" | "public";
  /** Settings, not secrets; the console shows only the names all the same. */
  env: Record<string, string>;
  activeDeploymentId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Deployment {
  id: string;
  version: number;
  status: string;
  source: string;
  message: string | null;
  branch: string | null;
  commit: string | null;
  createdAt: string;
  active: boolean;
  trafficPercent: number;
}

export interface Invocation {
  id: string;
  functionId: string;
  deploymentId: string | null;
  agentId: string | null;
  mode: string;
  trigger: string;
  status: string;
  httpStatus: number | null;
  attempt: number;
  coldStart: boolean;
  errorCode: string | null;
  startedAt: string;
  durationMs: number | null;
  /** W3C trace id; `undefined` from a gateway that does not record it yet. */
  traceId?: string | null;
}

export interface LogLine {
  at: string;
  level: string;
  message: string;
}

export interface InvocationDetail extends Invocation {
  logs: LogLine[];
}

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export interface SecretName {
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  functionName: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface NewApiKey {
  id: string;
  /** The full secret: shown once, never stored by the console. */
  key: string;
}

export interface NewDeployment {
  id: string;
  version: number;
  status: string;
}

export interface Agent {
  id: string;
  address: string;
  healthy: boolean;
  draining: boolean;
  capacity: number;
  inFlight: number;
  workerdReady: number;
  loadedFunctions: number;
  lastSeenMsAgo: number;
}

/** One time bucket of a function's invocations; latencies are null when it had none. */
export interface StatsBucket {
  start: string;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface FunctionStats {
  from: string;
  to: string;
  bucketSeconds: number;
  totals: { requests: number; errors: number; p50Ms: number | null; p95Ms: number | null };
  buckets: StatsBucket[];
}

export interface TenantStats {
  from: string;
  to: string;
  functions: Array<{ name: string; requests: number; errors: number }>;
}

/** The API's `{ error: { code, message, requestId } }`, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the invoke form got back from `/fn/…`. */
export interface InvokeResult {
  status: number;
  invocationId: string | null;
  contentType: string | null;
  body: string;
}

export class Api {
  constructor(private readonly token: string) {}

  /** A JSON body is sent as JSON; FormData as multipart (the browser writes the boundary). */
  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    const multipart = body instanceof FormData;
    if (body !== undefined && !multipart) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? null : multipart ? body : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, "unreachable", `the gateway did not answer: ${String(err)}`);
    }
    if (res.status === 204) return undefined as T;
    if (res.ok) return (await res.json()) as T;
    const error = await res.json().then(
      (b: { error?: { code?: string; message?: string } }) => b.error,
      () => undefined,
    );
    throw new ApiError(res.status, error?.code ?? "http_error", error?.message ?? `${res.status} ${res.statusText}`);
  }

  whoami(): Promise<Whoami> {
    return this.request("GET", "/v1/whoami");
  }

  async tenants(): Promise<Tenant[]> {
    return (await this.request<{ tenants: Tenant[] }>("GET", "/v1/tenants")).tenants;
  }

  async functions(tenant: string): Promise<IsleFunction[]> {
    return (await this.request<{ functions: IsleFunction[] }>("GET", `${tenantPath(tenant)}/functions`)).functions;
  }

  fn(tenant: string, name: string): Promise<IsleFunction> {
    return this.request("GET", functionPath(tenant, name));
  }

  async deployments(tenant: string, name: string): Promise<Deployment[]> {
    return (await this.request<{ deployments: Deployment[] }>("GET", `${functionPath(tenant, name)}/deployments`)).deployments;
  }

  /** Makes a version the active one (rollback or roll forward); no rebuild. */
  activate(tenant: string, name: string, deploymentId: string): Promise<Deployment> {
    return this.request("POST", `${functionPath(tenant, name)}/deployments/${encodeURIComponent(deploymentId)}/activate`);
  }

  async invocations(tenant: string, name: string, limit = 25): Promise<Invocation[]> {
    const query = new URLSearchParams({ function: name, limit: String(limit) });
    return (await this.request<{ invocations: Invocation[] }>("GET", `${tenantPath(tenant)}/invocations?${query}`)).invocations;
  }

  invocation(tenant: string, id: string): Promise<InvocationDetail> {
    return this.request("GET", `${tenantPath(tenant)}/invocations/${encodeURIComponent(id)}`);
  }

  /** Deploys `source` as the function's `index.ts` (multipart, like `isle deploy`); creates the function if new. */
  deploy(tenant: string, name: string, source: string, message: string): Promise<NewDeployment> {
    const form = new FormData();
    form.append("file", new File([source], "index.ts", { type: "text/typescript" }));
    if (message !== "") form.append("message", message);
    return this.request("POST", `${functionPath(tenant, name)}/deployments`, form);
  }

  /** Names only (needs `admin`). */
  async secrets(tenant: string, name: string): Promise<SecretName[]> {
    return (await this.request<{ secrets: SecretName[] }>("GET", `${functionPath(tenant, name)}/secrets`)).secrets;
  }

  async keys(tenant: string): Promise<ApiKey[]> {
    return (await this.request<{ keys: ApiKey[] }>("GET", `${tenantPath(tenant)}/keys`)).keys;
  }

  createKey(tenant: string, key: { name: string; scopes: string[]; functionName?: string }): Promise<NewApiKey> {
    return this.request("POST", `${tenantPath(tenant)}/keys`, key);
  }

  revokeKey(tenant: string, id: string): Promise<void> {
    return this.request("DELETE", `${tenantPath(tenant)}/keys/${encodeURIComponent(id)}`);
  }

  async agents(): Promise<Agent[]> {
    return (await this.request<{ agents: Agent[] }>("GET", "/v1/agents")).agents;
  }

  /** Requests, errors and latencies per bucket; `null` from a gateway without the endpoint (404). */
  functionStats(tenant: string, name: string, hours = 24, buckets = 24): Promise<FunctionStats | null> {
    const query = new URLSearchParams({ hours: String(hours), buckets: String(buckets) });
    return absentOn404(this.request<FunctionStats>("GET", `${functionPath(tenant, name)}/stats?${query}`));
  }

  /** Each function's requests and errors; `null` from a gateway without the endpoint (404). */
  tenantStats(tenant: string, hours = 24): Promise<TenantStats | null> {
    return absentOn404(this.request<TenantStats>("GET", `${tenantPath(tenant)}/stats?hours=${hours}`));
  }

  /** Follows the function's logs (server-sent events) until `signal` aborts or the stream ends. */
  async followLogs(tenant: string, name: string, signal: AbortSignal, onEvent: (event: SseEvent) => void): Promise<void> {
    const res = await fetch(`${functionPath(tenant, name)}/logs?follow=1&limit=20`, {
      headers: { authorization: `Bearer ${this.token}`, accept: "text/event-stream" },
      signal,
    });
    if (!res.ok || !res.body) throw new ApiError(res.status, "http_error", `logs: ${res.status} ${res.statusText}`);
    await readEvents(res.body, onEvent);
  }

  /**
   * Calls the function the way a client would. A key is sent (a private function needs one
   * with the `invoke` scope); the operator token is not, as it cannot invoke.
   */
  async invoke(tenant: string, name: string, request: { method: string; path: string; body: string; sendKey: boolean; traceparent: string }): Promise<InvokeResult> {
    const headers: Record<string, string> = { traceparent: request.traceparent };
    if (request.sendKey) headers.authorization = `Bearer ${this.token}`;
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const res = await fetch(invokePath(tenant, name, request.path), { method: request.method, headers, body: hasBody ? request.body : null });
    return {
      status: res.status,
      invocationId: res.headers.get("x-isle-invocation-id"),
      contentType: res.headers.get("content-type"),
      body: await res.text(),
    };
  }
}

/** An older gateway has no stats routes: the console then leaves the charts and rates out. */
function absentOn404<T>(request: Promise<T>): Promise<T | null> {
  return request.catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  });
}

const tenantPath = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}`;
const functionPath = (tenant: string, name: string) => `${tenantPath(tenant)}/functions/${encodeURIComponent(name)}`;

/** `/fn/<tenant>/<function>/<path>`, the path given by the user with a leading slash. */
export function invokePath(tenant: string, name: string, path: string): string {
  const rest = path.startsWith("/") ? path : `/${path}`;
  return `/fn/${encodeURIComponent(tenant)}/${encodeURIComponent(name)}${rest}`;
}
