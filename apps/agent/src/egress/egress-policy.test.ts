import { describe, expect, it } from "vitest";
import { CidrList } from "@isle/config";
import { EgressPolicy, type EgressQuery } from "./egress-policy.js";
import { InvocationRegistry, type InvocationEgress } from "./invocation-registry.js";

const invocation: InvocationEgress = {
  isolateId: "iso-1",
  tenantName: "acme",
  maxSubrequests: 100,
  callToken: "tok",
  traceparent: "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01",
  tracestate: "",
};

function setup(dns: Record<string, string[]> = {}, entry: Partial<InvocationEgress> = {}) {
  const registry = new InvocationRegistry(5);
  const end = registry.begin("inv-1", { ...invocation, ...entry });
  const policy = new EgressPolicy({
    registry,
    allow: CidrList.parse("10.9.0.0/16"),
    deny: CidrList.parse("203.0.113.10,10.9.0.1"),
    gatewayUrl: new URL("http://127.0.0.1:8080"),
    gatewayOrigins: ["http://127.0.0.1:8080", "https://isle.example.com"],
    domain: "isle.example.com",
    resolve: async (host) => {
      const addresses = dns[host];
      if (!addresses) throw new Error("ENOTFOUND");
      return addresses;
    },
  });
  const ask = (kind: EgressQuery["kind"], target: string, invocationId: string | null = "inv-1", isolateId = "iso-1") =>
    policy.decide({ isolateId, invocationId, kind, target });
  return { registry, policy, ask, end };
}

describe("EgressPolicy", () => {
  it("sends public destinations to the internet with the invocation's trace context", async () => {
    const { ask } = setup({ "api.example": ["93.184.216.34"] });
    expect(await ask("fetch", "https://api.example/x")).toEqual({
      allow: true,
      route: "internet",
      set: {},
      defaults: { traceparent: invocation.traceparent },
    });
    expect(await ask("fetch", "http://1.1.1.1/")).toMatchObject({ allow: true, route: "internet" });
    expect(await ask("connect", "1.1.1.1:443")).toMatchObject({ allow: true, route: "internet" });
  });

  it("refuses names that resolve inside, even when one of several addresses does", async () => {
    const { ask } = setup({ "sneaky.example": ["93.184.216.34", "10.0.0.5"], "meta.example": ["169.254.169.254"] });
    expect(await ask("fetch", "http://sneaky.example/")).toMatchObject({ allow: false, code: "egress_refused", message: expect.stringContaining("resolves to 10.0.0.5") });
    expect(await ask("fetch", "http://meta.example/")).toMatchObject({ allow: false, message: expect.stringContaining("link local") });
    expect(await ask("fetch", "http://LOCALHOST./")).toMatchObject({ allow: false });
    expect(await ask("connect", "db.localhost:5432")).toMatchObject({ allow: false });
  });

  it("leaves unresolvable names to the network layer", async () => {
    const { ask } = setup();
    expect(await ask("fetch", "http://nowhere.invalid/")).toMatchObject({ allow: true, route: "internet" });
  });

  it("opens allowlisted ranges but never the platform's own addresses inside them", async () => {
    const { ask } = setup({ "svc.internal.example": ["10.9.3.4"] });
    expect(await ask("fetch", "http://10.9.3.4/")).toMatchObject({ allow: true });
    expect(await ask("fetch", "http://svc.internal.example/")).toMatchObject({ allow: true });
    expect(await ask("fetch", "http://10.9.0.1/")).toMatchObject({ allow: false, message: expect.stringContaining("the platform itself") });
    expect(await ask("connect", "[::ffff:203.0.113.10]:22")).toMatchObject({ allow: false });
  });

  it("routes every documented way of naming a function to the gateway; only function calls carry the token", async () => {
    const { ask } = setup();
    const routes = await Promise.all([
      ask("call", "http://other/p?q=1"),
      ask("fetch", "http://gateway/function/other/p"),
      ask("fetch", "http://127.0.0.1:8080/fn/acme/other/p"),
      ask("fetch", "https://isle.example.com/fn/acme/other/p"),
      ask("fetch", "https://other--acme.isle.example.com/p"),
      ask("fetch", "https://isle.example.com/v1/tenants"),
    ]);
    expect(routes.map((r) => (r.allow && r.route === "gateway" ? [r.url, r.set["x-isle-call-token"]] : r))).toEqual([
      ["http://127.0.0.1:8080/fn/acme/other/p?q=1", "tok"],
      ["http://127.0.0.1:8080/fn/acme/other/p", "tok"],
      ["http://127.0.0.1:8080/fn/acme/other/p", "tok"],
      ["http://127.0.0.1:8080/fn/acme/other/p", "tok"],
      ["https://other--acme.isle.example.com/p", "tok"],
      ["http://127.0.0.1:8080/v1/tenants", undefined],
    ]);
    expect(await ask("call", "http://Not_A_Name/")).toMatchObject({ allow: false });
    expect(await ask("fetch", "http://gateway/admin")).toMatchObject({ allow: false });
    expect(await ask("fetch", "ftp://1.1.1.1/")).toMatchObject({ allow: false });
  });

  it("counts every attempt, refused ones included, against the invocation's limit", async () => {
    const { ask } = setup({}, { maxSubrequests: 2 });
    expect(await ask("fetch", "http://1.1.1.1/")).toMatchObject({ allow: true });
    expect(await ask("fetch", "http://127.0.0.1/")).toMatchObject({ allow: false, code: "egress_refused" });
    expect(await ask("call", "http://other/")).toMatchObject({ allow: false, code: "subrequest_limit" });
  });

  it("charges requests to invocations of the isolate that sent them only", async () => {
    const { ask, registry, end } = setup({}, { maxSubrequests: 1 });
    registry.begin("inv-2", { ...invocation, isolateId: "iso-2", maxSubrequests: 1 });
    // Naming another isolate's invocation charges the sender's own newest one.
    expect(await ask("fetch", "http://1.1.1.1/", "inv-2")).toMatchObject({ allow: true });
    expect(await ask("fetch", "http://1.1.1.1/", null)).toMatchObject({ allow: false, code: "subrequest_limit" });
    expect(await ask("fetch", "http://1.1.1.1/", "inv-2", "iso-2")).toMatchObject({ allow: true });
    // After the response and its grace, the isolate has nothing to charge: it may not send.
    end();
    await new Promise((r) => setTimeout(r, 20));
    expect(await ask("fetch", "http://1.1.1.1/", "inv-1")).toMatchObject({ allow: false, code: "no_invocation" });
  });
});
