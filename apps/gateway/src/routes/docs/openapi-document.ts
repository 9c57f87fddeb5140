import type { ApiApp } from "../api.js";

/** Where the document lives; public, like the reference page that reads it. */
export const openApiPath = "/v1/openapi.json";

/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 document of every operation registered with
 * `app.openapi`, built from the same zod schemas that validate requests, so it cannot drift.
 */
export function register(app: ApiApp): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "The operator token (ISLE_ADMIN_TOKEN) or a tenant API key `isk_…`",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "A tenant API key, as an alternative to Authorization: Bearer",
  });
  app.doc31(openApiPath, {
    openapi: "3.1.0",
    info: {
      title: "Isle management API",
      version: "1",
      description:
        "Tenants, API keys, functions, secrets, deployments, traffic splits, invocation records and live logs. Errors are " +
        "`{ error: { code, message, requestId } }`.",
    },
  });
}
