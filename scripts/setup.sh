#!/usr/bin/env bash
# Installs what Isle needs on a fresh Debian machine: Debian packages that are
# missing, then the npm dependencies, then a build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("isle needs Node >= 20.19, found "+process.versions.node); process.exit(1) }'

# Debian packages: setpriv (util-linux) ties child processes' lives to their
# parent; pgrep (procps) is used by the tests; redis-server backs the shared
# rate limiter (REDIS_URL) and its tests; nats-server (with JetStream) backs the
# async invocation queue when NATS_URL is set, and its tests; git (with its
# http-backend) serves `git push` deploys; ip (iproute2) builds the network
# namespaces of the multi-host tests; runc runs container functions as OCI
# bundles, and busybox-static gives the container tests a one-file root
# filesystem; chromium is the headless browser of the web console's end-to-end
# test (driven by playwright-core, which downloads no browser of its own);
# systemd-analyze (systemd) and cloud-init check the units and the user data
# under infra/ in the tests.
missing=()
command -v setpriv >/dev/null || missing+=(util-linux)
command -v pgrep >/dev/null || missing+=(procps)
command -v git >/dev/null || missing+=(git)
[ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || command -v ip >/dev/null || missing+=(iproute2)
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null || missing+=(nats-server)
[ -x /usr/sbin/runc ] || command -v runc >/dev/null || missing+=(runc)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v chromium >/dev/null || missing+=(chromium)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v cloud-init >/dev/null || missing+=(cloud-init)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "isle setup: please install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# Install when the lockfile changed since the last install (or on a fresh clone).
# `npm install`, not `npm ci`: this npm leaves other platforms' optional
# packages (turbo's darwin/windows binaries) out of the lockfile, and `npm ci`
# then refuses it as out of sync. Versions still come from the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npm run build --silent
# npm links a workspace's bin only when its file exists, and a fresh clone's install runs
# before the build: link the CLI (node_modules/.bin/isle) once it is built.
[ -x node_modules/.bin/isle ] || npm rebuild --ignore-scripts --silent @isle/cli
