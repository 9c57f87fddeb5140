#!/usr/bin/env bash
# Makes sure <dir>/<kind> holds an up-to-date root filesystem for each kind named, building only
# those whose inputs changed: the lock file, the watchdog and build.sh are hashed into
# <dir>/<kind>/.isle-build-key. A rebuild goes to <dir>/<kind>.new and replaces the old tree
# whole, so an agent never sees half of one. This is what `npm start`, the tests and the
# benchmarks call; operators can point ISLE_ROOTFS_DIR at the same directory.
#
#   infra/rootfs/ensure.sh <dir> [python3|node|exec ...]     (no kind: all three)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 <dir> [python3|node|exec ...]" >&2; exit 2; }
dir="$1"
shift
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(python3 node exec)
mkdir -p "$dir"
# One build at a time per directory: several local Isles (or test files) may start together.
exec 9>"$dir/.lock"
flock 9

key_of() {
  local kind="$1" watchdog=python
  if [ "$kind" = node ]; then watchdog=node; fi
  {
    echo "$kind"
    cat "$here/build.sh" "$here/packages/$kind.lock"
    find "$here/watchdog/$watchdog" -type f ! -name '*.test.ts' | sort | xargs cat
    # The node kind copies the host's Node binary.
    if [ "$kind" = node ]; then node --version; fi
  } | sha256sum | cut -d' ' -f1
}

for kind in "${kinds[@]}"; do
  key="$(key_of "$kind")"
  if [ "$(cat "$dir/$kind/.isle-build-key" 2>/dev/null)" = "$key" ]; then continue; fi
  echo "building the $kind root filesystem into $dir/$kind" >&2
  rm -rf "$dir/$kind.new"
  "$here/build.sh" "$kind" "$dir/$kind.new" >&2
  echo "$key" >"$dir/$kind.new/.isle-build-key"
  rm -rf "$dir/$kind.old"
  if [ -e "$dir/$kind" ]; then mv "$dir/$kind" "$dir/$kind.old"; fi
  mv "$dir/$kind.new" "$dir/$kind"
  rm -rf "$dir/$kind.old"
done
