import type { ApiApp, ApiDeps } from "./api.js";
import * as drainAgent from "./agents/drain.js";
import * as listAgents from "./agents/list.js";
import * as createDeployment from "./deployments/create.js";
import * as activateDeployment from "./deployments/activate.js";
import * as getDeployment from "./deployments/get.js";
import * as listDeployments from "./deployments/list.js";
import * as openApiDocument from "./docs/openapi-document.js";
import * as deleteFunction from "./functions/delete.js";
import * as getFunction from "./functions/get.js";
import * as listFunctions from "./functions/list.js";
import * as functionLogs from "./functions/logs.js";
import * as putFunction from "./functions/put.js";
import * as listDeadLetters from "./invocations/dead-letters.js";
import * as getInvocation from "./invocations/get.js";
import * as listInvocations from "./invocations/list.js";
import * as retryInvocation from "./invocations/retry.js";
import * as functionStats from "./stats/function.js";
import * as tenantStats from "./stats/tenant.js";
import * as listSchedules from "./schedules/list.js";
import * as putSchedules from "./schedules/put.js";
import * as createKey from "./keys/create.js";
import * as listKeys from "./keys/list.js";
import * as revokeKey from "./keys/revoke.js";
import * as deleteSecret from "./secrets/delete.js";
import * as listSecrets from "./secrets/list.js";
import * as putSecret from "./secrets/put.js";
import * as createTenant from "./tenants/create.js";
import * as deleteTenant from "./tenants/delete.js";
import * as getTenant from "./tenants/get.js";
import * as listTenants from "./tenants/list.js";
import * as updateTenant from "./tenants/update.js";
import * as deleteTraffic from "./traffic/delete.js";
import * as putTraffic from "./traffic/put.js";
import * as whoami from "./whoami/get.js";

/** Every management operation, one module each: its route definition and `register`. */
export const operations = [
  createTenant,
  listTenants,
  getTenant,
  updateTenant,
  deleteTenant,
  createKey,
  listKeys,
  revokeKey,
  putFunction,
  getFunction,
  listFunctions,
  deleteFunction,
  putSecret,
  deleteSecret,
  listSecrets,
  createDeployment,
  listDeployments,
  getDeployment,
  activateDeployment,
  putTraffic,
  deleteTraffic,
  listInvocations,
  getInvocation,
  listDeadLetters,
  retryInvocation,
  functionLogs,
  functionStats,
  tenantStats,
  putSchedules,
  listSchedules,
  whoami,
  listAgents,
  drainAgent,
] as const;

/** Registers the /v1 management API and its OpenAPI document on the app. */
export function registerManagement(app: ApiApp, deps: ApiDeps): void {
  for (const operation of operations) operation.register(app, deps);
  openApiDocument.register(app);
}
