import { describe, expect, it } from "vitest";
import { isolateOf, LoadedFunctions, type DeploymentKey, type Evicted } from "./loaded-functions.js";

const dep = (deploymentId: string, functionId = "fn_1"): DeploymentKey => ({ tenantId: "ten_1", functionId, deploymentId });
const isolate = (key: DeploymentKey, artifactHash: string, version = "v1") => {
  const found = isolateOf({ ...key, artifactHash }, `${key.tenantId}:${key.functionId}:${version}`);
  if (!found) throw new Error("bad test isolate");
  return found;
};

describe("LoadedFunctions", () => {
  it("counts each invocation from begin to its first end, per deployment, and keeps the deployment loaded after", () => {
    const loaded = new LoadedFunctions();
    const a = dep("dep_a");
    const endOne = loaded.begin(a, isolate(a, "h1"));
    const endTwo = loaded.begin(a, isolate(a, "h1"));
    loaded.begin(dep("dep_b"), isolate(dep("dep_b"), "h2"));
    expect(loaded.inFlight(a)).toBe(2);
    endOne();
    endOne();
    expect(loaded.inFlight(a)).toBe(1);
    endTwo();
    expect(loaded.report()).toEqual([
      { tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_a", inFlight: 0 },
      { tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_b", inFlight: 1 },
    ]);
  });

  it("lists a prewarmed deployment with nothing in flight, and counts one isolate per env version", () => {
    const loaded = new LoadedFunctions();
    const a = dep("dep_a");
    loaded.loaded(a, isolate(a, "h1", "v1"));
    loaded.loaded(a, isolate(a, "h1", "v1"));
    expect(loaded.report()).toEqual([{ tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_a", inFlight: 0 }]);
    loaded.begin(a, isolate(a, "h1", "v2"))();
    expect(loaded.isolateCount).toBe(2);
  });

  it("evicts an idle deployment at once, and a busy one when its last invocation ends, naming the caches no one else uses", () => {
    const evicted: Array<[string, Evicted]> = [];
    const loaded = new LoadedFunctions((key, what) => evicted.push([key.deploymentId, what]));
    const [a, b, c] = [dep("dep_a"), dep("dep_b"), dep("dep_c", "fn_2")];
    loaded.loaded(a, isolate(a, "shared"));
    loaded.loaded(b, isolate(b, "shared"));
    const endC = loaded.begin(c, isolate(c, "own"));

    expect(loaded.evict(a)).toBe(1);
    // The artifact is b's too, and the env reference (per function) as well.
    expect(evicted).toEqual([["dep_a", { isolates: [isolate(a, "shared")], unusedArtifacts: [], unusedEnvRefs: [] }]]);

    expect(loaded.evict(c)).toBe(1);
    expect(loaded.report().map((f) => [f.deploymentId, f.inFlight])).toEqual([["dep_b", 0], ["dep_c", 1]]);
    endC();
    expect(loaded.report().map((f) => f.deploymentId)).toEqual(["dep_b"]);
    expect(evicted[1]).toEqual(["dep_c", { isolates: [isolate(c, "own")], unusedArtifacts: ["own"], unusedEnvRefs: ["ten_1:fn_2:v1"] }]);
    expect(loaded.evict(c)).toBe(0);
  });

  it("keeps a deployment whose eviction waits when a new invocation of it begins", () => {
    const evicted: string[] = [];
    const loaded = new LoadedFunctions((key) => evicted.push(key.deploymentId));
    const a = dep("dep_a");
    const endFirst = loaded.begin(a, isolate(a, "h1"));
    loaded.evict(a);
    const endSecond = loaded.begin(a, isolate(a, "h1"));
    endFirst();
    endSecond();
    expect(loaded.report()).toEqual([{ tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_a", inFlight: 0 }]);
    expect(evicted).toEqual([]);
  });

  it("names no isolate for an env reference of another function or tenant", () => {
    const fn = { ...dep("dep_a"), artifactHash: "h1" };
    expect(isolateOf(fn, "ten_1:fn_1:v3")).toEqual({ isolateId: "ten_1:dep_a:h1:v3", artifactHash: "h1", envRef: "ten_1:fn_1:v3" });
    expect(isolateOf(fn, "ten_2:fn_1:v3")).toBeUndefined();
    expect(isolateOf(fn, "ten_1:fn_9:v3")).toBeUndefined();
    expect(isolateOf(fn, "garbage")).toBeUndefined();
  });
});
