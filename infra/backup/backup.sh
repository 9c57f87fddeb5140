#!/usr/bin/env bash
# Backs up a gateway host: the data directory (PGlite database when DATABASE_URL is unset,
# admin-token, secrets-key, the platform CA in pki/, git repositories) and, with DATABASE_URL,
# the Postgres database (pg_dump custom format). Restore steps: infra/backup/README.md.
#
#   infra/backup/backup.sh [--data-dir /var/lib/isle] [--env /etc/isle/gateway.env] [--out /var/backups/isle] [--no-stop]
#
# PGlite is one process's files: a copy taken while the gateway writes may not open. So without
# DATABASE_URL the gateway is stopped for the copy and started again (seconds; the load balancer
# sends requests to other gateways, or clients wait). --no-stop skips that (consistent only if the
# gateway is already stopped). With Postgres nothing is stopped: pg_dump reads one snapshot.
set -euo pipefail
data=/var/lib/isle
envfile=/etc/isle/gateway.env
out=/var/backups/isle
stop=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) data="$2"; shift 2 ;;
    --env) envfile="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-stop) stop=0; shift ;;
    *) echo "usage: $0 [--data-dir DIR] [--env FILE] [--out DIR] [--no-stop]" >&2; exit 2 ;;
  esac
done
[ -d "$data" ] || { echo "backup: no data directory at $data" >&2; exit 1; }
database_url="${DATABASE_URL:-}"
if [ -z "$database_url" ] && [ -r "$envfile" ]; then
  database_url="$(sed -n 's/^DATABASE_URL=//p' "$envfile" | tail -n1)"
fi
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
umask 077
mkdir -p "$out"

if [ -n "$database_url" ]; then
  command -v pg_dump >/dev/null || { echo "backup: pg_dump is needed (Debian package postgresql-client, the server's major version or newer)" >&2; exit 1; }
  pg_dump --format=custom --no-owner --file "$out/isle-$stamp.pgdump" "$database_url"
  echo "$out/isle-$stamp.pgdump"
  # The database lives elsewhere: the data directory holds the keys and repositories only.
  tar -C "$data" -czf "$out/isle-data-$stamp.tar.gz" --exclude=./pglite --exclude=./build-cache --exclude=./run .
else
  restart=0
  if [ "$stop" = 1 ] && systemctl is-active --quiet isle-gateway.service 2>/dev/null; then
    systemctl stop isle-gateway.service
    restart=1
  fi
  trap '[ "$restart" = 0 ] || systemctl start isle-gateway.service' EXIT
  tar -C "$data" -czf "$out/isle-data-$stamp.tar.gz" --exclude=./build-cache --exclude=./run --exclude=./pglite.lock .
fi
echo "$out/isle-data-$stamp.tar.gz"
