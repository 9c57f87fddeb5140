import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { activateDeployment, createDeployment, putArtifact, upsertFunction, type IsleDb } from "@isle/db";
import { IsleError } from "@isle/errors";
import { bundleFunction } from "../../control/build/bundle.js";
import type { SourceFile } from "../../control/build/source-files.js";
import type { GatewayEnv } from "../../env.js";
import type { TargetResolver } from "../../invoke/target-resolver.js";
import { isDnsLabel } from "../../names.js";
import { requireTenant } from "../tenant-lookup.js";

export interface DeployLimits {
  maxUploadBytes: number;
  maxBundleBytes: number;
}

/**
 * `POST /v1/tenants/:tenant/functions/:function/deployments`, multipart: one
 * part per file, the part's filename its relative path; optional fields
 * `entry` and `message`. Builds, stores the artifact, records the version and
 * makes it active → 201 `{ id, version, status }`. A failed build changes
 * nothing: the active version keeps serving.
 */
export function registerCreateDeployment(app: Hono<GatewayEnv>, db: IsleDb, resolver: TargetResolver, limits: DeployLimits): void {
  app.post(
    "/v1/tenants/:tenant/functions/:function/deployments",
    bodyLimit({
      maxSize: limits.maxUploadBytes,
      onError: () => {
        throw new IsleError("payload_too_large", `the upload is over ${limits.maxUploadBytes} bytes`);
      },
    }),
    async (c) => {
      const tenant = await requireTenant(db, c.req.param("tenant"));
      const name = c.req.param("function");
      if (!isDnsLabel(name)) throw new IsleError("validation_failed", "function name must be a DNS label");
      if (!(c.req.header("content-type") ?? "").startsWith("multipart/form-data")) {
        throw new IsleError("bad_request", "send the sources as multipart/form-data, one part per file");
      }
      const form = await c.req.parseBody({ all: true }).catch(() => {
        throw new IsleError("bad_request", "the multipart body is malformed");
      });
      const files: SourceFile[] = [];
      let entry: string | undefined;
      let message: string | undefined;
      for (const [field, value] of Object.entries(form)) {
        for (const part of Array.isArray(value) ? value : [value]) {
          if (typeof part !== "string") files.push({ path: part.name, content: new Uint8Array(await part.arrayBuffer()) });
          else if (field === "entry") entry = part;
          else if (field === "message") message = part.slice(0, 1000);
        }
      }

      const built = await bundleFunction({ files, entry, maxBundleBytes: limits.maxBundleBytes });
      const fn = await upsertFunction(db, tenant.id, name, {});
      await putArtifact(db, built.hash, built.bytes);
      const deployment = await createDeployment(db, {
        tenantId: tenant.id,
        functionId: fn.id,
        artifactHash: built.hash,
        entry: built.entry,
        message: message ?? null,
      });
      await activateDeployment(db, tenant.id, fn.id, deployment.id);
      resolver.invalidate(tenant.name, fn.name);
      return c.json({ id: deployment.id, version: deployment.version, status: deployment.status, artifactHash: built.hash }, 201);
    },
  );
}
