import type { InvokeTarget } from "../invoke/target-resolver.js";

/** A public workerd function `acme/hello` at deployment `dep_<version>`, for unit tests. */
export function testTarget(version = 1): InvokeTarget {
  return {
    tenantId: "ten_1",
    tenantName: "acme",
    tenantQuotas: {},
    functionId: "fn_1",
    functionName: "hello",
    visibility: "public",
    runtime: "workerd",
    entry: "index.ts",
    envRef: "ten_1:fn_1:v1",
    traffic: null,
    canary: undefined,
    deploymentId: `dep_${version}`,
    artifactHash: "a".repeat(64),
    version,
    limits: {},
    env: {},
  };
}
