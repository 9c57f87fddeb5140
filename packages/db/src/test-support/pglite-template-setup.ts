/**
 * Vitest global setup: one migrated PGlite database per test run, which test databases and test
 * gateways copy instead of each creating and migrating their own.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPgliteTemplate, pgliteTemplateEnv } from "./databases.js";

export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "isle-pglite-template-"));
  // Workers start after the global setup and inherit its environment.
  process.env[pgliteTemplateEnv] = await createPgliteTemplate(dir);
  return async () => {
    delete process.env[pgliteTemplateEnv];
    await rm(dir, { recursive: true, force: true });
  };
}
