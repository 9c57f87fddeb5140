#!/usr/bin/env bash
# Points /opt/isle/current at an installed release and restarts the enabled Isle units: the
# rollback (and the roll-forward again). `--list` shows the releases, the current one marked.
#
#   infra/switch-release.sh <version> [--root DIR] [--no-start]
#   infra/switch-release.sh --list [--root DIR]
#
# Releases share /etc/isle and the data directories; a release whose database migrations are newer
# than the one switched to may not run the older code — docs/operating.md, "Upgrade and rollback".
set -euo pipefail
root=""
start=1
version=""
list=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    --list) list=1; shift ;;
    -*) echo "usage: $0 <version>|--list [--root DIR] [--no-start]" >&2; exit 2 ;;
    *) version="$1"; shift ;;
  esac
done
R="$root"
current="$(readlink "$R/opt/isle/current" 2>/dev/null || true)"
if [ "$list" = 1 ]; then
  for dir in "$R"/opt/isle/releases/*/; do
    name="$(basename "$dir")"
    [ -e "$dir/.complete" ] || continue
    if [ "releases/$name" = "$current" ]; then echo "* $name"; else echo "  $name"; fi
  done
  exit 0
fi
[ -n "$version" ] || { echo "usage: $0 <version>|--list [--root DIR] [--no-start]" >&2; exit 2; }
[ -e "$R/opt/isle/releases/$version/.complete" ] || { echo "switch-release: release $version is not installed (--list shows those that are)" >&2; exit 1; }
ln -sfn "releases/$version" "$R/opt/isle/current.new"
mv -T "$R/opt/isle/current.new" "$R/opt/isle/current"
echo "switch-release: current -> releases/$version (was ${current:-nothing})"
if [ -z "$root" ] && [ "$start" = 1 ]; then
  units=()
  for unit in isle-agent.service isle-sidecar.service isle-gateway.service; do
    systemctl is-enabled --quiet "$unit" 2>/dev/null && units+=("$unit")
  done
  [ ${#units[@]} -eq 0 ] || systemctl restart "${units[@]}"
  echo "switch-release: restarted ${units[*]:-nothing}"
fi
