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

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, "unreachable", `the gateway did not answer: ${String(err)}`);
    }
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

const tenantPath = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}`;
const functionPath = (tenant: string, name: string) => `${tenantPath(tenant)}/functions/${encodeURIComponent(name)}`;

/** `/fn/<tenant>/<function>/<path>`, the path given by the user with a leading slash. */
export function invokePath(tenant: string, name: string, path: string): string {
  const rest = path.startsWith("/") ? path : `/${path}`;
  return `/fn/${encodeURIComponent(tenant)}/${encodeURIComponent(name)}${rest}`;
}
