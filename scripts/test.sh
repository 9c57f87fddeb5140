#!/usr/bin/env bash
# Sets up and runs every test: unit tests, then the end-to-end suite on embedded PGlite, then its
# database-bound files again on the machine's PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/services.sh

# Strict types, tests included.
npx turbo run typecheck --output-logs=errors-only
npx tsc -p test

# The generated gRPC code must match the .proto files.
npm run check-generated --silent -w @isle/proto

npx vitest run --project unit
env -u DATABASE_URL npx vitest run --project e2e

# On PostgreSQL again: the files whose subject is what the database holds or how it is shared —
# tenants, keys, deployments, records, logs, the table queue, schedules (two gateways sharing one
# database). The others test the runtime path
# (streaming, limits, egress, failures, telemetry, start-up on PGlite) and would only repeat
# themselves; running them once keeps the suite well inside its time budget.
postgres_suites=(management lifecycle invoke security async logs schedules)
DATABASE_URL="${ISLE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
  npx vitest run --project e2e "${postgres_suites[@]/%/.test.ts}"
