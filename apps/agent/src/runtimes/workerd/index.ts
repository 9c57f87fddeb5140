/** The workerd runtime of the agent: tenant isolates in a pool of workerd processes. */
export { WorkerdRuntime, defaultCompatibilityDate, type EgressSettings, type WorkerdRecycle, type WorkerdRuntimeOptions } from "./workerd-runtime.js";
export { defaultRestartPolicy, type RestartPolicy } from "./workerd-process.js";
export { buildWorkerdConfig, type WorkerdConfig, type WorkerdConfigSpec } from "./config.js";
export { toCapnp, toCapnpFile, Embed } from "./capnp.js";
