/**
 * @isle/scaler — the autoscaling policy, modelled on Knative's KPA (DESIGN §8, ADR 0024): observed
 * concurrency over a stable and a panic window, a target per replica, min/max, scale to zero after
 * idle, and a tenant's quota over all its functions. Pure: no I/O, no timers, time is a parameter;
 * the gateway's scaler loop samples, calls these, and acts.
 */
export { ConcurrencyWindow, type WindowLengths, type WindowSummary } from "./concurrency-window.js";
export { decide, type ScaleDecision, type ScaleObservations, type ScaleReason } from "./decide.js";
export {
  defaultScaleSpec,
  resolveScaleSpec,
  scaleSpecFromSettings,
  scaleSpecProblem,
  scaleSpecRanges,
  type ScaleSettings,
  type ScaleSpec,
  type ScaleSpecProblem,
} from "./scale-spec.js";
export { capToTenantQuota, type ReplicaClaim, type ReplicaGrant, type TenantScaleQuota } from "./tenant-quota.js";
