import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { Stack } from "../harness/stack.js";

// What tenants do to a live function, seen from its callers: secrets, traffic
// splits, rollbacks.
describe(`function lifecycle (${process.env.DATABASE_URL ? "postgres" : "pglite"})`, () => {
  let stack: Stack;
  const json = (method: string, body: unknown): RequestInit => ({
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const version = (text: string) => ({ "index.js": `export default { fetch: () => new Response(${JSON.stringify(text)}) };` });
  const deploy = async (fn: string, files: Record<string, string>) => {
    const res = await stack.deploy("acme", fn, files);
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string; version: number };
  };
  const body = async (fn: string) => (await fetch(`${stack.baseUrl}/fn/acme/${fn}`)).text();

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL });
    await stack.createTenant("acme");
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("hands secrets to the function's env, never back to the API", async () => {
    await stack.deployPublic("acme", "env", fixture("env"));
    await stack.configure("acme", "env", { env: { PLAIN: "visible", API_TOKEN: "overridden" } });
    const put = await stack.operator("/v1/tenants/acme/functions/env/secrets/API_TOKEN", { method: "PUT", body: "s3cret-value" });
    expect(put.status).toBeLessThan(300);
    expect(JSON.parse(await body("env"))).toEqual({ PLAIN: "visible", API_TOKEN: "s3cret-value", "(bindings)": ["FUNCTIONS"] });
    const listed = await (await stack.operator("/v1/tenants/acme/functions/env/secrets")).text();
    expect(listed).toContain("API_TOKEN");
    expect(listed).not.toContain("s3cret-value");
    expect((await stack.operator("/v1/tenants/acme/functions/env/secrets/API_TOKEN", { method: "DELETE" })).status).toBeLessThan(300);
    expect(JSON.parse(await body("env"))).toEqual({ PLAIN: "visible", API_TOKEN: "overridden", "(bindings)": ["FUNCTIONS"] });
  });

  it("splits traffic between two versions, and back", async () => {
    const one = await deploy("split", version("one"));
    await deploy("split", version("two"));
    await stack.configure("acme", "split", { visibility: "public" });
    expect(await body("split")).toBe("two");

    const set = await stack.operator("/v1/tenants/acme/functions/split/traffic", json("PUT", { deploymentId: one.id, percent: 50 }));
    expect(set.status, await set.clone().text()).toBe(200);
    const counts = { one: 0, two: 0 };
    for (let i = 0; i < 200; i++) counts[(await body("split")) as "one" | "two"]++;
    // 200 fair coin flips land outside 60–140 with probability below 1e-8.
    expect(counts.one).toBeGreaterThan(60);
    expect(counts.two).toBeGreaterThan(60);

    expect((await stack.operator("/v1/tenants/acme/functions/split/traffic", { method: "DELETE" })).status).toBeLessThan(300);
    for (let i = 0; i < 20; i++) expect(await body("split")).toBe("two");
  });

  it("rolls back to an earlier version at once", async () => {
    const first = await deploy("roll", version("first"));
    await deploy("roll", version("second"));
    await stack.configure("acme", "roll", { visibility: "public" });
    expect(await body("roll")).toBe("second");
    const back = await stack.operator(`/v1/tenants/acme/functions/roll/deployments/${first.id}/activate`, { method: "POST" });
    expect(back.status, await back.clone().text()).toBe(200);
    expect(await body("roll")).toBe("first");
  });

  it("lists the record of each invocation through the API", async () => {
    const res = await fetch(`${stack.baseUrl}/fn/acme/roll/some/path`);
    const id = res.headers.get("x-isle-invocation-id")!;
    await res.text();
    const deadline = Date.now() + 5000;
    let found: Response | undefined;
    while (Date.now() < deadline) {
      found = await stack.operator(`/v1/tenants/acme/invocations/${id}`);
      if (found.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(found?.status).toBe(200);
    expect(await found!.json()).toMatchObject({ id, mode: "sync", status: "succeeded", httpStatus: 200 });
    const list = (await (await stack.operator("/v1/tenants/acme/invocations?function=roll")).json()) as { invocations: Array<{ id: string }> };
    expect(list.invocations.map((i) => i.id)).toContain(id);
  });
});
