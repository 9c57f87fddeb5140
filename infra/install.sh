#!/usr/bin/env bash
# Installs an Isle release on a Debian/Ubuntu VM (docs/operating.md, docs/adr/0030).
#
#   infra/install.sh [--role gateway|agent|all] [--from DIR|TARBALL] [--version V] [--root DIR]
#                    [--no-start] [--no-rootfs]
#
# --from: a release tarball from infra/package-release.sh, or an unpacked one; default: the
#   checkout or release this script sits in (built: apps/*/dist must exist).
# --role: gateway = isle-gateway; agent = isle-agent + isle-sidecar; all (default) = the three.
#
# Layout: /opt/isle/releases/<V> (read-only copy), /opt/isle/current -> releases/<V>,
# /etc/isle/{gateway,sidecar,agent}.env (written only when absent: operator config is never
# overwritten), /etc/isle/pki/{agent,sidecar}/ (certificates), /var/lib/isle (gateway data, user
# isle), /var/lib/isle-agent (agent: run/ for its socket, work/, rootfs/; root), units in
# /etc/systemd/system. Running it again with the same release changes nothing; with a new one it
# is the upgrade: copy, switch the symlink, restart. infra/switch-release.sh rolls back.
#
# --root DIR installs under DIR instead of / (tests): no useradd (the isle user and group are
# written into DIR/etc/passwd and DIR/etc/group), no apt-get, no systemctl (units are enabled by
# writing the same links `systemctl enable` writes), no root filesystem build.
# --no-start: enable the units but do not (re)start them. --no-rootfs: skip building the container
# root filesystems (agent role; container functions stay off until infra/rootfs/ensure.sh runs).
set -euo pipefail

role=all
from=""
version=""
root=""
start=1
rootfs=1
usage() { echo "usage: $0 [--role gateway|agent|all] [--from DIR|TARBALL] [--version V] [--root DIR] [--no-start] [--no-rootfs]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role="${2:-}"; shift 2 ;;
    --from) from="${2:-}"; shift 2 ;;
    --version) version="${2:-}"; shift 2 ;;
    --root) root="${2:-}"; shift 2 ;;
    --no-start) start=0; shift ;;
    --no-rootfs) rootfs=0; shift ;;
    -h|--help) usage ;;
    *) echo "install: unknown argument $1" >&2; usage ;;
  esac
done
case "$role" in gateway|agent|all) ;; *) echo "install: --role must be gateway, agent or all, not '$role'" >&2; exit 2 ;; esac
say() { echo "isle install: $*"; }
die() { echo "isle install: $*" >&2; exit 1; }

if [ -n "$root" ]; then
  mkdir -p "$root"
  root="$(cd "$root" && pwd)"
  [ "$root" != / ] || die "--root / is the real system: leave --root out"
fi
[ "$(id -u)" -eq 0 ] || [ -n "$root" ] || die "run as root (or with --root DIR)"

# --- the release -----------------------------------------------------------------------------
work=""
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT
if [ -z "$from" ]; then
  from="$(cd "$(dirname "$0")/.." && pwd)"
elif [ -f "$from" ]; then
  work="$(mktemp -d)"
  tar -C "$work" -xzf "$from"
  set -- "$work"/isle-*/
  [ $# -eq 1 ] && [ -d "$1" ] || die "$from does not hold one isle-<version>/ directory"
  from="${1%/}"
fi
[ -d "$from" ] || die "no release at $from"
from="$(cd "$from" && pwd)"
for app in gateway sidecar agent; do
  [ -f "$from/apps/$app/dist/main.js" ] || die "$from/apps/$app/dist/main.js is missing (npm run build, or use a release from infra/package-release.sh)"
done
if [ -z "$version" ]; then
  if [ -f "$from/VERSION" ]; then
    version="$(cat "$from/VERSION")"
  else
    commit="$(git -C "$from" rev-parse --short HEAD 2>/dev/null || echo local)"
    git -C "$from" diff --quiet HEAD 2>/dev/null || commit="$commit-dirty-$(date -u +%Y%m%d%H%M%S)"
    version="checkout-$commit"
  fi
fi
case "$version" in *[!A-Za-z0-9._+-]*|"") die "version '$version' may hold only A-Z a-z 0-9 . _ + -" ;; esac

# --- packages (real system only) -------------------------------------------------------------
if [ -z "$root" ]; then
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null \
    || die "Node >= 20.19 is needed at /usr/bin/node (NodeSource or Debian's nodejs)"
  [ -x /usr/bin/node ] || die "the units run /usr/bin/node, which is missing"
  missing=()
  command -v setpriv >/dev/null || missing+=(util-linux)
  if [ "$role" != agent ]; then command -v git >/dev/null || missing+=(git); fi
  if [ "$role" != gateway ]; then command -v runc >/dev/null || missing+=(runc); fi
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi

# --- the isle user ---------------------------------------------------------------------------
if [ -z "$root" ]; then
  if ! id -u isle >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/isle --no-create-home --shell /usr/sbin/nologin isle
    say "created user isle"
  fi
  uid="$(id -u isle)"
  gid="$(id -g isle)"
else
  # A throwaway root: the user exists only in its own passwd and group files.
  mkdir -p "$root/etc"
  touch "$root/etc/passwd" "$root/etc/group"
  if ! grep -q '^isle:' "$root/etc/passwd"; then
    uid=999
    while cut -d: -f3 "$root/etc/passwd" "$root/etc/group" | grep -qx "$uid"; do uid=$((uid - 1)); done
    echo "isle:x:$uid:$uid:Isle:/var/lib/isle:/usr/sbin/nologin" >> "$root/etc/passwd"
    echo "isle:x:$uid:" >> "$root/etc/group"
  fi
  uid="$(grep '^isle:' "$root/etc/passwd" | cut -d: -f3)"
  gid="$(grep '^isle:' "$root/etc/group" | cut -d: -f3)"
fi
# chown needs root; a test run as another user keeps its own ids and says so.
own() {
  if [ "$(id -u)" -eq 0 ]; then chown "$@"; else say "not root: leaving $* to the current user"; fi
}

# --- directories -----------------------------------------------------------------------------
R="$root"
install -d -m 0755 "$R/opt/isle" "$R/opt/isle/releases" "$R/etc/isle" "$R/etc/systemd/system"
install -d -m 0750 "$R/var/lib/isle"
own "$uid:$gid" "$R/var/lib/isle"
install -d -m 0755 "$R/var/lib/isle-agent"
install -d -m 0700 "$R/var/lib/isle-agent/work"
install -d -m 0755 "$R/var/lib/isle-agent/rootfs"
# setgid group isle: the agent's socket gets group isle and, with the agent's umask 0002, group
# write, so the sidecar (user isle) may connect; no one else may.
install -d -m 2750 "$R/var/lib/isle-agent/run"
own "0:$gid" "$R/var/lib/isle-agent/run"
chmod 2750 "$R/var/lib/isle-agent/run"

# --- the release: copy once, then switch -----------------------------------------------------
target="$R/opt/isle/releases/$version"
if [ -e "$target/.complete" ]; then
  say "release $version is already installed"
else
  rm -rf "$target.partial"
  mkdir -p "$target.partial"
  items=(package.json infra scripts)
  for item in package-lock.json docs README.md node_modules VERSION; do [ -e "$from/$item" ] && items+=("$item"); done
  for dir in "$from"/apps/* "$from"/packages/*; do
    rel="${dir#"$from"/}"
    [ -f "$dir/package.json" ] && items+=("$rel/package.json")
    [ -d "$dir/dist" ] && items+=("$rel/dist")
  done
  (cd "$from" && cp -a --parents "${items[@]}" "$target.partial/")
  echo "$version" > "$target.partial/VERSION"
  # root-owned and not writable by the services: a compromised gateway cannot change the code.
  if [ "$(id -u)" -eq 0 ]; then chown -R 0:0 "$target.partial"; fi
  chmod -R go-w "$target.partial"
  touch "$target.partial/.complete"
  mv -T "$target.partial" "$target"
  say "installed release $version"
fi
previous="$(readlink "$R/opt/isle/current" 2>/dev/null || true)"
if [ "$previous" != "releases/$version" ]; then
  ln -sfn "releases/$version" "$R/opt/isle/current.new"
  mv -T "$R/opt/isle/current.new" "$R/opt/isle/current"
  say "current -> releases/$version${previous:+ (was $previous)}"
fi
rel="$R/opt/isle/current"

# --- configuration: only when absent ---------------------------------------------------------
parts=()
case "$role" in gateway) parts=(gateway) ;; agent) parts=(agent sidecar) ;; all) parts=(gateway agent sidecar) ;; esac
for part in "${parts[@]}"; do
  env="$R/etc/isle/$part.env"
  if [ -e "$env" ]; then
    say "keeping /etc/isle/$part.env"
  else
    install -m 0600 "$rel/infra/examples/single-vm/$part.env" "$env"
    say "wrote /etc/isle/$part.env (edit it, then restart isle-$part)"
  fi
done

# --- certificates: on a VM with both roles the gateway's CA issues them here -----------------
node_name="$(hostname | tr 'A-Z' 'a-z' | tr -c 'a-z0-9-\n' '-' | cut -c1-63)"
if [ "$role" = all ]; then
  issue() { # role dir owner-group mode-of-key [extra args]
    local part="$1" dir="$R/etc/isle/pki/$1" group="$2" tmp
    [ -f "$dir/$part.key" ] && return 0
    tmp="$(mktemp -d)"
    shift 2
    node "$rel/apps/gateway/dist/certs-cli.js" issue --role "$part" --name "$node_name" "$@" \
      --out "$tmp" --data-dir "$R/var/lib/isle" >/dev/null
    install -d -m 0750 "$dir"
    install -m 0644 "$tmp/ca.crt" "$dir/ca.crt"
    install -m 0644 "$tmp/$part-$node_name.crt" "$dir/$part.crt"
    install -m 0640 "$tmp/$part-$node_name.key" "$dir/$part.key"
    own "0:$group" "$dir" "$dir/$part.key"
    rm -rf "$tmp"
    say "issued the $part certificate (name $node_name) into /etc/isle/pki/$part"
  }
  install -d -m 0755 "$R/etc/isle/pki"
  issue agent 0
  chmod 0700 "$R/etc/isle/pki/agent"; chmod 0600 "$R/etc/isle/pki/agent/agent.key"
  issue sidecar "$gid" --host 127.0.0.1 --host localhost
  # The CA was created by root in the gateway's data directory: the gateway must own it.
  own -R "$uid:$gid" "$R/var/lib/isle/pki"
elif [ "$role" = agent ] && [ ! -f "$R/etc/isle/pki/agent/agent.key" ]; then
  say "no certificates yet: on a gateway host run isle-certs (docs/operating.md, 'Adding an agent VM') and copy them to /etc/isle/pki/agent/{ca.crt,agent.crt,agent.key} and /etc/isle/pki/sidecar/{ca.crt,sidecar.crt,sidecar.key}"
fi

# --- units -----------------------------------------------------------------------------------
units=()
for part in "${parts[@]}"; do units+=("isle-$part.service"); done
for unit in isle-gateway.service isle-sidecar.service isle-agent.service; do
  install -m 0644 "$rel/infra/systemd/$unit" "$R/etc/systemd/system/$unit"
done

# --- container root filesystems (agent role, real system) ------------------------------------
if [ "$role" != gateway ] && [ -z "$root" ] && [ "$rootfs" = 1 ]; then
  if ! "$rel/infra/rootfs/ensure.sh" /var/lib/isle-agent/rootfs; then
    say "building the container root filesystems failed: container functions stay off (ISLE_CONTAINERS=auto)"
  fi
fi

if [ -n "$root" ]; then
  # What `systemctl enable` writes, without asking a systemd that is not this root's.
  install -d -m 0755 "$R/etc/systemd/system/multi-user.target.wants"
  for unit in "${units[@]}"; do
    ln -sfn "/etc/systemd/system/$unit" "$R/etc/systemd/system/multi-user.target.wants/$unit"
  done
  say "enabled ${units[*]} under $root (no systemctl under --root; nothing started)"
else
  systemctl daemon-reload
  systemctl enable "${units[@]}" >/dev/null
  if [ "$start" = 1 ]; then
    systemctl restart "${units[@]}"
    say "started ${units[*]}"
  else
    say "enabled ${units[*]}; start them with: systemctl start ${units[*]}"
  fi
fi
