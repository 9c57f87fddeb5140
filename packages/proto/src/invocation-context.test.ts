import { describe, expect, it } from "vitest";
import { invocationContext } from "./invocation-context.js";

const head = {
  invocationId: "inv_1",
  attempt: 1,
  function: { tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_1", artifactHash: "abc", tenantName: "t", functionName: "f" },
  method: "GET",
  path: "/",
  headers: [],
  limits: undefined,
  envRef: "ten_1:fn_1:3",
  deadlineUnixMs: 1_700_000_000_000,
  trace: undefined,
  trigger: "http",
  host: "h",
  initialWindow: 1024,
  hasBody: false,
  callToken: "",
  contextSignature: Buffer.alloc(0),
};

describe("invocationContext", () => {
  it("changes with every field a signature must cover", () => {
    const base = invocationContext(head).toString();
    const variants = [
      { ...head, invocationId: "inv_2" },
      { ...head, envRef: "ten_1:fn_1:4" },
      { ...head, deadlineUnixMs: head.deadlineUnixMs + 1 },
      { ...head, function: { ...head.function, tenantId: "ten_2" } },
      { ...head, function: { ...head.function, deploymentId: "dep_2" } },
      { ...head, function: { ...head.function, artifactHash: "abd" } },
    ];
    for (const variant of variants) expect(invocationContext(variant).toString()).not.toBe(base);
  });
});
