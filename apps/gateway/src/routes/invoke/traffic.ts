import type { InvokeTarget } from "../../invoke/target-resolver.js";

/** The deployment one request runs. */
export interface ChosenDeployment {
  deploymentId: string;
  artifactHash: string;
}

/**
 * Applies a traffic split: `roll` (uniform in [0, 1)) below the canary's
 * share runs the canary, anything else the active deployment.
 */
export function chooseDeployment(target: InvokeTarget, roll: number): ChosenDeployment {
  const { canary } = target;
  if (canary && roll * 100 < canary.percent) return { deploymentId: canary.deploymentId, artifactHash: canary.artifactHash };
  return { deploymentId: target.deploymentId, artifactHash: target.artifactHash };
}
