import { describe, expect, it } from "vitest";
import { Embed, toCapnp, toCapnpFile } from "./capnp.js";
import { buildWorkerdConfig } from "./config.js";
import { restartDelay, defaultRestartPolicy } from "./workerd-process.js";

describe("toCapnp", () => {
  it("writes structs, lists, void groups and embeds", () => {
    expect(toCapnp({ name: "a", http: {}, list: [1, true], file: new Embed("x.js"), skipped: undefined })).toBe(
      '(name = "a", http = (), list = [1, true], file = embed "x.js")',
    );
    expect(toCapnp([])).toBe("[]");
    const long = "x".repeat(70);
    expect(toCapnp({ a: [long], b: "y" })).toBe(`(\n  a = [\n    "${long}"\n  ],\n  b = "y"\n)`);
  });

  it("escapes text so that no value can end the literal", () => {
    expect(toCapnp('a"b\\c\nd\u0000')).toBe('"a\\"b\\\\c\\x0ad\\x00"');
    expect(toCapnp("caf\u00e9 \u{1F600}")).toBe('"caf\u00e9 \u{1F600}"');
  });

  it("refuses field names and numbers capnp cannot take", () => {
    expect(() => toCapnp({ "a = 1, b": 2 })).toThrow(/bad field name/);
    expect(() => toCapnp(Number.NaN)).toThrow(/cannot encode/);
  });
});

describe("buildWorkerdConfig", () => {
  const config = buildWorkerdConfig({
    supervisorFile: "supervisor.js",
    artifactSocket: "/run/isle/artifacts.sock",
    compatibilityDate: "2026-01-02",
    network: { allow: ["10.1.0.0/16"], deny: ["192.0.2.7/32"] },
    gatewayAddress: "127.0.0.1:8080",
  });

  it("gives the supervisor a loader, the agent's artifacts, the isolate settings and the two egress routes, nothing else", () => {
    const supervisor = config.services.find((s) => s.name === "supervisor");
    expect(supervisor && "worker" in supervisor ? supervisor.worker.bindings : []).toEqual([
      { name: "LOADER", workerLoader: {} },
      { name: "ARTIFACTS", service: "agent-artifacts" },
      { name: "INTERNET", service: "internet" },
      { name: "GATEWAY", service: "gateway" },
      { name: "ISOLATE", json: '{"compatibilityDate":"2026-01-02","compatibilityFlags":["nodejs_compat"]}' },
    ]);
    expect(config.services).toContainEqual({
      name: "agent-artifacts",
      external: { address: "unix:/run/isle/artifacts.sock", http: {} },
    });
    expect(config.services).toContainEqual({ name: "gateway", external: { address: "127.0.0.1:8080", http: {} } });
  });

  it("lets isolates reach public addresses and the operator's allowlist, never the denied ones", () => {
    expect(config.services).toContainEqual({
      name: "internet",
      network: { allow: ["public", "10.1.0.0/16"], deny: ["192.0.2.7/32"], tlsOptions: { trustBrowserCas: true } },
    });
  });

  it("serialises to a capnp file workerd can load (socket address comes from the command line)", () => {
    const text = toCapnpFile(config);
    expect(text).toMatch(/^using Workerd = import "\/workerd\/workerd.capnp";/);
    expect(text).toContain('esModule = embed "supervisor.js"');
    expect(text).toContain("workerLoader = ()");
    expect(text).not.toContain("address = \"unix:/run/isle/workerd");
  });
});

describe("restartDelay", () => {
  it("doubles from 100 ms to 2 s and starts over after a long enough run", () => {
    const waits: number[] = [];
    let current = defaultRestartPolicy.initialMs;
    for (let i = 0; i < 7; i++) {
      const { waitMs, nextMs } = restartDelay(defaultRestartPolicy, current, 50);
      waits.push(waitMs);
      current = nextMs;
    }
    expect(waits).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
    expect(restartDelay(defaultRestartPolicy, current, 60_000).waitMs).toBe(100);
  });
});
