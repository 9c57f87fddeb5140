export { createTenant, findTenantByName, findTenantById, listTenants, updateTenantQuotas, deleteTenant } from "./tenants.js";
export {
  upsertFunction,
  findFunction,
  listFunctions,
  countFunctions,
  deleteFunction,
  setTrafficSplit,
  type FunctionSettings,
} from "./functions.js";
export { putArtifact, getArtifact } from "./artifacts.js";
export {
  createDeployment,
  activateDeployment,
  listDeployments,
  findDeployment,
  type CreateDeploymentInput,
} from "./deployments.js";
export { findActiveTarget, findPreviewTarget, type ActiveTarget } from "./targets.js";
export { upsertPreview, findPreviewByLabel, deletePreview, type PreviewInput } from "./previews.js";
export { upsertAgent, markAgentSeen, type AgentRegistration } from "./agents.js";
export { dnsLabelPattern, isDnsLabel, sqlStateOf } from "./pg-errors.js";
export {
  createApiKey,
  listApiKeys,
  revokeApiKey,
  findApiKeyById,
  type CreateApiKeyInput,
  type ApiKeySummary,
  type StoredApiKey,
} from "./api-keys.js";
export {
  putFunctionSecret,
  deleteFunctionSecret,
  listFunctionSecretNames,
  listFunctionSecrets,
  type SecretSummary,
} from "./secrets.js";
export {
  listInvocations,
  listInvocationLogs,
  findInvocation,
  saveInvocationCallback,
  type InvocationCursor,
  type InvocationFilter,
  type InvocationLogsFilter,
  type InvocationOutput,
  type InvocationSummary,
} from "./invocations.js";
export {
  functionStats,
  tenantActivity,
  type FunctionActivity,
  type FunctionStats,
  type StatsBucket,
  type StatsFigures,
  type StatsWindow,
} from "./invocation-stats.js";
export { deleteExpiredInvocations, inProgressStatuses, type ExpiredInvocations } from "./expire-invocations.js";
export { recordInvocations, appendInvocationLogs, type LogAppend, type AppendedRecord } from "./record-invocations.js";
export { saveInvocation } from "./save-invocation.js";
export {
  replaceSchedules,
  listSchedules,
  claimDueSchedules,
  advanceSchedule,
  type ScheduleInput,
  type ClaimedSchedule,
} from "./schedules.js";
export {
  replicaCountsChangedSince,
  activateFunction,
  setFunctionReplicas,
  listScalingSubjects,
  type ReplicaCount,
  type ScalingSubject,
} from "./replicas.js";
