import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { IsleError } from "@isle/errors";
import { activatePrepared, prepareDeployment } from "../../control/deploy.js";
import type { SourceFile } from "../../control/build/source-files.js";
import { extractTarGz } from "../../control/build/tar.js";
import type { GatewayEnv } from "../../env.js";
import { maxBody } from "../../middleware/body-size.js";
import { bearer, errors, functionParams, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";

export interface DeployLimits {
  maxUploadBytes: number;
  maxBundleBytes: number;
  /** Where builds keep npm packages between deploys (under the data directory). */
  buildCacheDir?: string | undefined;
}

const maxArchiveFiles = 1000;

export const route = createRoute({
  method: "post",
  path: "/v1/tenants/{tenant}/functions/{function}/deployments",
  tags: ["deployments"],
  summary: "Deploy a new version (deploy): build, store, activate",
  description:
    "Either `multipart/form-data` with one part per file (the part's filename is its relative path) and optional fields " +
    "`entry` and `message`, or an `application/gzip` tar of the function's directory with `entry` and `message` in the query.",
  security: bearer,
  request: {
    params: functionParams,
    query: z.object({ entry: z.string().max(512).optional(), message: z.string().max(1000).optional() }),
    // Plain schemas, not zod: the handler reads the upload itself (multipart or tar.gz).
    body: {
      required: true,
      content: {
        "multipart/form-data": {
          schema: { type: "object", properties: { file: { type: "array", items: { type: "string", format: "binary" } }, entry: { type: "string" }, message: { type: "string" } } },
        },
        "application/gzip": { schema: { type: "string", format: "binary" } },
      },
    },
  },
  responses: {
    201: jsonResponse(
      z.object({ id: z.string(), version: z.number().int(), status: z.string(), artifactHash: z.string() }).openapi("NewDeployment"),
      "Built and active",
    ),
    ...errors(409, 413, 422),
  },
});

/**
 * `POST /v1/tenants/:tenant/functions/:function/deployments` → 201 `{ id, version, status }`
 * once the new version is active. A failed build or an invalid repository config changes
 * nothing: the active version keeps serving.
 */
export function register(app: ApiApp, { db, resolver, limits, schedules }: ApiDeps): void {
  app.openapi(
    { ...route, middleware: [maxBody(limits.maxUploadBytes)] },
    async (c) => {
      const tenant = c.get("tenant");
      const { function: name } = c.req.valid("param");
      const query = c.req.valid("query");
      const upload = await readUpload(c, limits.maxUploadBytes);
      const entry = upload.entry ?? query.entry;
      const message = (upload.message ?? query.message)?.slice(0, 1000);

      // The sources' isle.json / isle.toml gives the entry when the upload names none, and its
      // settings (runtime, visibility, limits, scale) and schedules apply as this version goes live.
      const deps = { db, resolver, limits, schedules };
      const prepared = await prepareDeployment(deps, { tenant, functionName: name, files: upload.files, entry, message, source: "api" });
      await activatePrepared(deps, tenant, prepared);
      const { deployment } = prepared;
      return c.json({ id: deployment.id, version: deployment.version, status: deployment.status, artifactHash: deployment.artifactHash }, 201);
    },
  );
}

interface Upload {
  files: SourceFile[];
  entry?: string | undefined;
  message?: string | undefined;
}

async function readUpload(c: Context<GatewayEnv>, maxUploadBytes: number): Promise<Upload> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/gzip" || type === "application/x-gzip" || type === "application/x-tar+gzip") {
    const archive = new Uint8Array(await c.req.arrayBuffer());
    return { files: extractTarGz(archive, { maxUnpackedBytes: maxUploadBytes, maxFiles: maxArchiveFiles }) };
  }
  if (type !== "multipart/form-data") {
    throw new IsleError("bad_request", "send the sources as multipart/form-data (one part per file) or as an application/gzip tar");
  }
  const form = await c.req.parseBody({ all: true }).catch(() => {
    throw new IsleError("bad_request", "the multipart body is malformed");
  });
  const upload: Upload = { files: [] };
  for (const [field, value] of Object.entries(form)) {
    for (const part of Array.isArray(value) ? value : [value]) {
      if (typeof part !== "string") upload.files.push({ path: part.name, content: new Uint8Array(await part.arrayBuffer()) });
      else if (field === "entry") upload.entry = part;
      else if (field === "message") upload.message = part;
    }
  }
  return upload;
}
