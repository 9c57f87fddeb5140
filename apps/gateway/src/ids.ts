import { randomUUID } from "node:crypto";

/**
 * Random ids: prefix + 32 hex digits (122 random bits). randomUUID draws from
 * a pool Node refills in batches, which keeps it off the invoke path's
 * profile (one randomBytes call per id was 2 % of the gateway's CPU).
 */
function randomId(prefix: string): string {
  return prefix + randomUUID().replaceAll("-", "");
}

export const newRequestId = (): string => randomId("req_");
export const newInvocationId = (): string => randomId("inv_");
