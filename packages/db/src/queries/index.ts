export { createTenant, findTenantByName } from "./tenants.js";
export { upsertFunction, findFunction, type FunctionSettings } from "./functions.js";
export { putArtifact, getArtifact } from "./artifacts.js";
export {
  createDeployment,
  activateDeployment,
  listDeployments,
  type CreateDeploymentInput,
} from "./deployments.js";
export { findActiveTarget, type ActiveTarget } from "./targets.js";
export { upsertAgent, markAgentSeen, type AgentRegistration } from "./agents.js";
export { isDnsLabel, sqlStateOf } from "./pg-errors.js";
