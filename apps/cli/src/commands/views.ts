/** The management API's shapes that `isle` reads (see /v1/openapi.json). */

export interface FunctionInfo {
  id: string;
  name: string;
  runtime: string;
  visibility: string;
  env: Record<string, string>;
  limits: Record<string, number>;
  scale: Record<string, number>;
  activeDeploymentId: string | null;
  traffic: { deploymentId: string; percent: number } | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentInfo {
  id: string;
  version: number;
  status: string;
  source: string;
  message: string | null;
  entry: string;
  artifactHash: string;
  createdAt: string;
  active: boolean;
  trafficPercent: number;
}

export interface ScheduleInfo {
  name: string;
  cron: string;
  timezone: string;
  method: string;
  path: string;
  enabled: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
}

export interface KeyInfo {
  id: string;
  name: string;
  scopes: string[];
  functionName: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface TenantInfo {
  id: string;
  name: string;
  quotas: Record<string, number>;
  createdAt: string;
}

export interface AgentInfo {
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

export interface LogEntry {
  invocationId: string;
  status: string;
  at: string;
  level: string;
  message: string;
}

/** The URL a function is invoked at, by path. */
export function functionUrl(base: string, tenant: string, fn: string): string {
  return `${base}/fn/${encodeURIComponent(tenant)}/${encodeURIComponent(fn)}`;
}
