import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// Unit tests run on the TypeScript sources (the "isle-src" export condition);
// e2e tests start the built apps as real processes.
export default defineConfig({
  resolve: { conditions: ["isle-src"] },
  ssr: { resolve: { conditions: ["isle-src"] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["apps/*/src/**/*.test.ts", "packages/*/src/**/*.test.ts", "infra/rootfs/**/*.test.ts", "infra/*.test.ts"],
          // One migrated PGlite database per run, copied by the tests that need a fresh one.
          globalSetup: ["packages/db/src/test-support/pglite-template-setup.ts"],
          // Most unit files spend their time waiting (timers, queues, child processes): two at once
          // even on two cores, where vitest's default (cores - 1) would run them one by one.
          maxWorkers: Math.max(2, availableParallelism() - 1),
          testTimeout: 30_000,
          // Opening a PGlite database and migrating it takes seconds on a busy two-core machine.
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["packages/db/src/test-support/pglite-template-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
