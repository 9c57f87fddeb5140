export * from "./tenants.js";
export * from "./api-keys.js";
export * from "./functions.js";
export * from "./artifacts.js";
export * from "./deployments.js";
export * from "./invocations.js";
export * from "./agents.js";
export * from "./function-secrets.js";
