import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import type { AgentMember } from "../../control/membership.js";
import { nodeFault, undelivered } from "../../invoke/node-fault.js";
import type { Invoker, InvokeSpec } from "../../invoke/sidecar-invoker.js";
import { startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

const hello = { "index.js": "export default { fetch: () => new Response('hi') }" };

/** Fails invocations on the agents named in `refuse` as the test says, answers elsewhere with the body it read. */
class ScriptedInvoker implements Invoker {
  tries: Array<{ agentId: string; body: string }> = [];
  refuse = new Set<string>();
  failure: () => IsleError = () => undelivered(nodeFault(new IsleError("unavailable", "the agent is draining")));
  async invoke(agent: AgentMember, spec: InvokeSpec) {
    // The channel sends the body right after the head, whatever the agent then does with it.
    const chunks: Uint8Array[] = [];
    if (spec.body) for await (const chunk of spec.body) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString();
    if (this.refuse.has(agent.agentId)) {
      this.tries.push({ agentId: agent.agentId, body });
      throw this.failure();
    }
    this.tries.push({ agentId: agent.agentId, body });
    return { response: new Response(`ran with ${body.length} bytes`), coldStart: false, outcome: Promise.resolve({ errorCode: undefined, fault: undefined }) };
  }
  close(): void {}
}

describe("failover of sync invocations", () => {
  let gw: TestGateway;
  const invoker = new ScriptedInvoker();
  const report = (agentId: string) =>
    gw.membership.report({ agentId, address: `${agentId}:7443`, capacity: 10, inFlight: 0, draining: false, workerdReady: 1, loaded: [], sentAtUnixMs: 0 }, {});
  beforeAll(async () => {
    gw = await startTestGateway({ invoker });
    await gw.createTenant("acme");
    await gw.operator("/v1/tenants/acme/functions/hello", { method: "PUT", json: { visibility: "public" } });
    expect((await gw.deploy("acme", "hello", hello)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });
  beforeEach(() => {
    report("a1");
    report("a2");
    invoker.tries = [];
  });

  /** Sends until the first try lands on a refusing agent (placement picks among both at random). */
  async function sendHittingRefusal(init: RequestInit = {}): Promise<Response> {
    for (let i = 0; i < 50; i++) {
      invoker.tries = [];
      const res = await gw.request("/fn/acme/hello", init);
      if (invoker.tries[0]?.agentId === "a1") return res;
      await res.text();
    }
    throw new Error("placement never chose a1");
  }

  it("tries another replica when the first refused before the function, sending the small body again", async () => {
    invoker.refuse = new Set(["a1"]);
    const body = "x".repeat(10_000);
    const res = await sendHittingRefusal({ method: "POST", body, headers: { "content-length": String(body.length) } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ran with 10000 bytes");
    expect(invoker.tries).toEqual([
      { agentId: "a1", body },
      { agentId: "a2", body },
    ]);
  });

  it("does not try again a body too large to keep, once it was sent", async () => {
    invoker.refuse = new Set(["a1"]);
    const body = "y".repeat(70_000);
    const res = await sendHittingRefusal({ method: "POST", body, headers: { "content-length": String(body.length) } });
    expect(res.status).toBe(503);
    expect(invoker.tries.map((t) => t.agentId)).toEqual(["a1"]);
  });

  it("answers the failure, without a second try, when it may have reached the function", async () => {
    invoker.refuse = new Set(["a1"]);
    invoker.failure = () => nodeFault(new IsleError("upstream_failed", "the node failed while serving the request"));
    const res = await sendHittingRefusal();
    expect(res.status).toBe(502);
    expect(invoker.tries.map((t) => t.agentId)).toEqual(["a1"]);
    invoker.failure = () => undelivered(nodeFault(new IsleError("unavailable", "the agent is draining")));
  });

  it("answers 503 when every replica refused, after trying each once", async () => {
    invoker.refuse = new Set(["a1", "a2"]);
    const res = await gw.request("/fn/acme/hello");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(invoker.tries.map((t) => t.agentId).sort()).toEqual(["a1", "a2"]);
  });
});
