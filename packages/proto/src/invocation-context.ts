import type { RequestHead } from "./gen/isle/agent/v1/agent.js";

/**
 * The bytes a gateway signs for one invocation and a sidecar verifies: who
 * runs (tenant, function, deployment), what code and which env and secrets
 * (artifact, env reference), which invocation, and until when (the deadline,
 * which bounds how long the signature is good for). One field per line; none
 * can contain a newline (ids, hex, decimal), so no two heads share the bytes.
 */
export function invocationContext(head: RequestHead): Buffer {
  const fn = head.function;
  return Buffer.from(
    [
      "isle-invocation-v1",
      fn?.tenantId ?? "",
      fn?.functionId ?? "",
      fn?.deploymentId ?? "",
      fn?.artifactHash ?? "",
      head.envRef,
      head.invocationId,
      String(head.deadlineUnixMs),
    ].join("\n"),
  );
}
