import { describe, expect, it } from "vitest";
import { RequestHead } from "./gen/isle/agent/v1/agent.js";
import { invocationContext } from "./invocation-context.js";

const fn = { tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_1", artifactHash: "abc", tenantName: "t", functionName: "f" };
const head = RequestHead.fromPartial({ invocationId: "inv_1", function: fn, envRef: "ten_1:fn_1:3", deadlineUnixMs: 1_700_000_000_000 });

describe("invocationContext", () => {
  it("changes with every field a signature must cover", () => {
    const base = invocationContext(head).toString();
    const variants = [
      { ...head, invocationId: "inv_2" },
      { ...head, envRef: "ten_1:fn_1:4" },
      { ...head, deadlineUnixMs: head.deadlineUnixMs + 1 },
      { ...head, function: { ...fn, tenantId: "ten_2" } },
      { ...head, function: { ...fn, deploymentId: "dep_2" } },
      { ...head, function: { ...fn, artifactHash: "abd" } },
    ];
    for (const variant of variants) expect(invocationContext(variant).toString()).not.toBe(base);
  });
});
