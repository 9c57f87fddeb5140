import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

describe("API documentation", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("serves an OpenAPI 3.1 document with the core routes and their security", async () => {
    const res = await gw.request("/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["apiKey", "bearer"]);
    for (const [path, method] of [
      ["/v1/tenants", "post"],
      ["/v1/tenants/{tenant}/keys", "post"],
      ["/v1/tenants/{tenant}/functions/{function}", "put"],
      ["/v1/tenants/{tenant}/functions/{function}/deployments", "post"],
      ["/v1/tenants/{tenant}/functions/{function}/deployments", "get"],
      ["/v1/tenants/{tenant}/functions/{function}/deployments/{id}/activate", "post"],
      ["/v1/tenants/{tenant}/functions/{function}/secrets/{name}", "put"],
      ["/v1/tenants/{tenant}/functions/{function}/secrets/{name}", "delete"],
      ["/v1/tenants/{tenant}/invocations", "get"],
      ["/v1/tenants/{tenant}/invocations/{id}", "get"],
      ["/v1/tenants/{tenant}/functions/{function}/logs", "get"],
      ["/v1/tenants/{tenant}/functions/{function}/stats", "get"],
      ["/v1/tenants/{tenant}/stats", "get"],
    ] as const) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op?.security).toBeDefined();
      expect(op?.responses["401"]).toBeDefined();
    }
    const logs = doc.paths["/v1/tenants/{tenant}/functions/{function}/logs"]?.get?.responses["200"] as { content: Record<string, unknown> };
    expect(Object.keys(logs.content).sort()).toEqual(["application/json", "text/event-stream"]);
  });

  it("serves the reference page and its viewer from local files, no CDN", async () => {
    const page = await (await gw.request("/docs")).text();
    const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const src of sources) {
      expect(src.startsWith("/docs/assets/"), src).toBe(true);
      const asset = await gw.request(src);
      expect(asset.status, src).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(10);
    }
    expect(await (await gw.request("/docs/assets/init.js")).text()).toContain("/v1/openapi.json");
    expect((await gw.request("/docs/assets/../package.json")).status).toBe(404);
  });
});
