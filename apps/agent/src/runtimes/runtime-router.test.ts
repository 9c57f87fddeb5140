import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { encodeArtifact, encodeContainerArtifact } from "@isle/proto";
import { RuntimeRouter } from "./runtime-router.js";
import type { FunctionRuntime, RuntimeRequest } from "./runtime.js";

/** A runtime that answers with its own name and remembers what it was asked. */
function fakeRuntime(name: string): FunctionRuntime & { calls: string[]; evicted: string[] } {
  const calls: string[] = [];
  const evicted: string[] = [];
  return {
    calls,
    evicted,
    start: async () => undefined,
    stop: async () => undefined,
    status: () => ({ processes: 1, ready: 1, inFlight: 0 }),
    invoke: async (request) => {
      calls.push(request.artifactHash);
      return { status: 200, headers: [["x-runtime", name]], body: new PassThrough(), coldStart: false };
    },
    prewarm: async () => ({ coldStart: name === "container" }),
    evict: async (ids) => void evicted.push(...ids),
  };
}

const artifacts = new Map<string, Buffer>([
  ["iso", encodeArtifact({ format: 1, mainModule: "w.js", modules: { "w.js": "export default {}" } })],
  ["ctr", encodeContainerArtifact({ rootfs: "python3", entry: "handler.py", files: [{ path: "handler.py", mode: 0o644, content: Buffer.from("") }] })],
]);

function router(withContainers = true) {
  const fetched: string[] = [];
  const isolates = fakeRuntime("isolate");
  const containers = fakeRuntime("container");
  const r = new RuntimeRouter({
    isolates,
    containers: withContainers ? containers : undefined,
    noContainersReason: "the agent does not run as root",
    artifacts: {
      get: async (hash) => {
        fetched.push(hash);
        const bytes = artifacts.get(hash);
        if (!bytes) throw new Error("not found");
        return bytes;
      },
    },
  });
  return { r, isolates, containers, fetched };
}

const request = (artifactHash: string) => ({ artifactHash, isolateId: `t:d:${artifactHash}:1`, envRef: "t:f:1" }) as RuntimeRequest;

describe("RuntimeRouter", () => {
  it("fetches the env alongside an artifact it has not seen (one round trip on a cold start, not two), and not after", async () => {
    const order: string[] = [];
    let releaseArtifact!: () => void;
    const artifactArrives = new Promise<void>((resolve) => (releaseArtifact = resolve));
    const envAsked: string[] = [];
    const r = new RuntimeRouter({
      isolates: fakeRuntime("isolate"),
      containers: undefined,
      artifacts: {
        get: async (hash) => {
          order.push(`artifact ${hash}`);
          await artifactArrives;
          return artifacts.get(hash)!;
        },
      },
      env: {
        get: async (ref) => {
          order.push(`env ${ref}`);
          envAsked.push(ref);
          throw new Error("the control plane is away");
        },
      },
    });
    const answer = r.invoke(request("iso"));
    // Both asked before the artifact came back; the env's failure is not the request's.
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(["env t:f:1", "artifact iso"]);
    releaseArtifact();
    expect((await answer).status).toBe(200);
    await r.invoke(request("iso"));
    expect(envAsked).toEqual(["t:f:1"]);
  });

  it("sends each request to the runtime its artifact is for, looking each artifact up once", async () => {
    const { r, isolates, containers, fetched } = router();
    for (const hash of ["iso", "ctr", "iso", "ctr"]) await r.invoke(request(hash));
    expect(isolates.calls).toEqual(["iso", "iso"]);
    expect(containers.calls).toEqual(["ctr", "ctr"]);
    expect(fetched).toEqual(["iso", "ctr"]);
    expect(await r.prewarm({ ...request("ctr") }, 1000)).toEqual({ coldStart: true });
  });

  it("refuses a container function where containers are off, saying why, and keeps serving isolates", async () => {
    const { r } = router(false);
    const err = await r.invoke(request("ctr")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IsleError);
    expect(err).toMatchObject({ code: "unavailable", message: expect.stringMatching(/not run as root/) });
    // The second time the kind is known: still a rejection, not a throw.
    await expect(r.invoke(request("ctr"))).rejects.toMatchObject({ code: "unavailable" });
    await expect(r.invoke(request("iso"))).resolves.toMatchObject({ status: 200 });
  });

  it("an artifact that cannot be fetched is upstream_failed, and is looked up again next time", async () => {
    const { r, fetched } = router();
    await expect(r.invoke(request("gone"))).rejects.toMatchObject({ code: "upstream_failed" });
    await expect(r.invoke(request("gone"))).rejects.toMatchObject({ code: "upstream_failed" });
    expect(fetched).toEqual(["gone", "gone"]);
  });

  it("passes evictions to both runtimes", async () => {
    const { r, isolates, containers } = router();
    await r.evict(["a", "b"]);
    expect(isolates.evicted).toEqual(["a", "b"]);
    expect(containers.evicted).toEqual(["a", "b"]);
  });
});
