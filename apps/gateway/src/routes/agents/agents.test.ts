import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { controlV1 } from "@isle/proto";
import { errorOf, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

describe("/v1/agents", () => {
  let gw: TestGateway;
  const sent: controlV1.ControlCommand[] = [];
  beforeAll(async () => {
    gw = await startTestGateway();
    await gw.createTenant("acme");
    gw.membership.report(
      { agentId: "agent-1", address: "10.0.0.2:7443", capacity: 64, inFlight: 3, draining: false, workerdReady: 2, loaded: [], sentAtUnixMs: 0 },
      { send: (command) => sent.push(command) },
    );
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("lists connected agents with their load, for the operator only", async () => {
    const res = await gw.operator("/v1/agents");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ agents: [{ id: "agent-1", address: "10.0.0.2:7443", healthy: true, draining: false, inFlight: 3, capacity: 64 }] });
    const { key } = await gw.createKey("acme", { name: "admin", scopes: ["read", "deploy", "invoke"] });
    expect((await gw.request("/v1/agents", {}, key)).status).toBe(401);
    expect((await gw.request("/v1/agents/agent-1/drain", { method: "POST" }, key)).status).toBe(401);
  });

  it("drains an agent (out of placement here at once, the command sent to it) and resumes it", async () => {
    const drained = await gw.operator("/v1/agents/agent-1/drain", { method: "POST" });
    expect(drained.status).toBe(202);
    expect(await drained.json()).toMatchObject({ id: "agent-1", draining: true, healthy: false });
    expect(sent.at(-1)).toEqual({ command: { $case: "drain", value: { resume: false } } });
    expect(gw.membership.healthy()).toEqual([]);

    const resumed = await gw.operator("/v1/agents/agent-1/resume", { method: "POST" });
    expect(resumed.status).toBe(202);
    expect(sent.at(-1)).toEqual({ command: { $case: "drain", value: { resume: true } } });
    expect(gw.membership.healthy().map((m) => m.agentId)).toEqual(["agent-1"]);
  });

  it("answers 404 for an agent that is not connected", async () => {
    const res = await gw.operator("/v1/agents/nobody/drain", { method: "POST" });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
    expect(sent.filter((c) => c.command?.$case === "drain")).toHaveLength(2);
  });
});
