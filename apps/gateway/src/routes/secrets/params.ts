import { z } from "@hono/zod-openapi";
import { functionParams } from "../api.js";

/** Secrets become env names in the isolate, so they follow the same rule as env vars. */
export const secretParams = functionParams.extend({
  name: z
    .string()
    .max(128)
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "secret names are identifiers: letters, digits and '_'")
    .openapi({ param: { name: "name", in: "path" }, example: "STRIPE_KEY" }),
});
