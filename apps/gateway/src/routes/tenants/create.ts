import type { Hono } from "hono";
import { z } from "zod";
import { createTenant, type IsleDb } from "@isle/db";
import type { GatewayEnv } from "../../env.js";
import { dnsLabelPattern } from "../../names.js";
import { readJson } from "../json-body.js";

export const createTenantBody = z.strictObject({
  name: z.string().regex(dnsLabelPattern, "must be a DNS label: a-z, 0-9 and '-', at most 63 characters"),
});

/** `POST /v1/tenants` (operator) → 201 `{ id, name }`. */
export function registerCreateTenant(app: Hono<GatewayEnv>, db: IsleDb): void {
  app.post("/v1/tenants", async (c) => {
    const { name } = await readJson(c, createTenantBody);
    const tenant = await createTenant(db, name);
    return c.json({ id: tenant.id, name: tenant.name }, 201);
  });
}
