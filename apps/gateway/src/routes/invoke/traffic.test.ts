import { describe, expect, it } from "vitest";
import type { InvokeTarget } from "../../invoke/target-resolver.js";
import { chooseDeployment } from "./traffic.js";

const target = (canary: InvokeTarget["canary"]): InvokeTarget => ({
  tenantId: "ten_1",
  tenantName: "acme",
  tenantQuotas: {},
  functionId: "fn_1",
  functionName: "hello",
  runtime: "workerd",
  visibility: "public",
  limits: {},
  env: {},
  traffic: null,
  deploymentId: "dep_active",
  artifactHash: "a".repeat(64),
  entry: "index.ts",
  version: 1,
  envRef: "ten_1:fn_1:v",
  canary,
});

describe("chooseDeployment", () => {
  it("sends the canary's share of rolls to the canary", () => {
    const split = target({ deploymentId: "dep_canary", artifactHash: "b".repeat(64), percent: 10 });
    let canary = 0;
    for (let i = 0; i < 1000; i++) if (chooseDeployment(split, i / 1000).deploymentId === "dep_canary") canary++;
    expect(canary).toBe(100);
  });

  it("runs the active deployment when there is no split", () => {
    expect(chooseDeployment(target(undefined), 0)).toEqual({ deploymentId: "dep_active", artifactHash: "a".repeat(64) });
  });
});
