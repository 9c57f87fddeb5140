import type { Attributes } from "@opentelemetry/api";

/** What every Isle invocation span says about the invocation (DESIGN.md §9). */
export interface InvocationFacts {
  trigger: string;
  invocationId: string;
  functionName: string;
  /** The deployment id: the version of the function that runs. */
  deploymentId: string;
  tenantName: string;
}

/**
 * The FaaS semantic-convention attributes plus `isle.tenant`. Names only:
 * never headers, env or keys, so nothing secret reaches a span.
 */
export function faasAttributes(facts: InvocationFacts): Attributes {
  return {
    "faas.trigger": facts.trigger || "http",
    "faas.invocation_id": facts.invocationId,
    "faas.name": facts.functionName,
    "faas.version": facts.deploymentId,
    "isle.tenant": facts.tenantName,
  };
}
