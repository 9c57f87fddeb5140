import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Hono } from "hono";
import type { GatewayEnv } from "../../env.js";
import { openApiPath } from "./openapi-document.js";

/** Files of swagger-ui-dist the page needs, read once so /docs works with no network at all. */
const assets = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
} as const;

// The page boots the viewer from a script file rather than inline code, so a strict
// Content-Security-Policy in front of the gateway does not break it.
const init = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: ${JSON.stringify(openApiPath)}, dom_id: "#reference", deepLinking: true });
});
`;

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Isle API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

/** `GET /docs`: an interactive reference of the management API, served from npm files, offline. */
export function register(app: Hono<GatewayEnv>): void {
  const dir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const files = new Map<string, { body: Buffer | string; type: string }>();
  for (const [name, type] of Object.entries(assets)) files.set(name, { body: readFileSync(join(dir, name)), type });
  files.set("init.js", { body: init, type: "text/javascript; charset=utf-8" });

  app.get("/docs", (c) => c.html(page));
  app.get("/docs/assets/:file", (c) => {
    const file = files.get(c.req.param("file"));
    if (!file) return c.notFound();
    return c.body(typeof file.body === "string" ? file.body : new Uint8Array(file.body), 200, {
      "content-type": file.type,
      "cache-control": "public, max-age=3600",
    });
  });
}
