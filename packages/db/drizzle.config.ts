import { defineConfig } from "drizzle-kit";

// `npm run generate -w @isle/db` diffs src/schema against the last snapshot in migrations/
// and writes the next migration. Migrations are never edited by hand once they land.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/schema/index.ts",
  out: "./migrations",
});
