#!/usr/bin/env bash
# Builds a release tarball of Isle from this checkout: what infra/install.sh installs on a VM.
#
#   infra/package-release.sh [--out DIR] [--version V] [--skip-build] [--without-node-modules]
#
# The tarball, DIR/isle-<V>.tar.gz (DIR defaults to ./dist-release), unpacks to isle-<V>/ holding
# VERSION, package.json, apps/*/{package.json,dist}, packages/*/{package.json,dist}, the whole
# node_modules (workspace links included: the built apps resolve @isle/* through them, and the
# gateway's builds need esbuild), infra/ (units, install.sh, rootfs builder, examples), scripts/
# and docs/. V defaults to <package.json version>-<short commit>[-dirty].
# --without-node-modules leaves node_modules out (the tests use it; a VM needs it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
out="$src/dist-release"
version=""
build=1
modules=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    --without-node-modules) modules=0; shift ;;
    *) echo "usage: $0 [--out DIR] [--version V] [--skip-build] [--without-node-modules]" >&2; exit 2 ;;
  esac
done

if [ -z "$version" ]; then
  base="$(node -p 'require(process.argv[1]).version ?? "0.0.0"' "$src/package.json" 2>/dev/null || echo 0.0.0)"
  [ "$base" = "undefined" ] && base="0.0.0"
  commit="$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo nogit)"
  dirty=""
  git -C "$src" diff --quiet HEAD 2>/dev/null || dirty="-dirty"
  version="$base-$commit$dirty"
fi
case "$version" in
  *[!A-Za-z0-9._+-]*|"") echo "package-release: version '$version' may hold only A-Z a-z 0-9 . _ + -" >&2; exit 2 ;;
esac

if [ "$build" = 1 ]; then (cd "$src" && npm run build --silent); fi
for app in gateway sidecar agent; do
  [ -f "$src/apps/$app/dist/main.js" ] || { echo "package-release: apps/$app/dist/main.js is missing: build first" >&2; exit 1; }
done

mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
top="$stage/isle-$version"
mkdir -p "$top"
cd "$src"
files=(package.json package-lock.json infra scripts docs README.md)
for dir in apps/* packages/*; do
  [ -f "$dir/package.json" ] && files+=("$dir/package.json")
  [ -d "$dir/dist" ] && files+=("$dir/dist")
done
[ "$modules" = 1 ] && files+=(node_modules)
# cp --parents keeps the paths; -a keeps node_modules' links and modes.
cp -a --parents "${files[@]}" "$top/"
rm -rf "$top/infra/rootfs/node_modules"
echo "$version" > "$top/VERSION"
tar -C "$stage" -czf "$out/isle-$version.tar.gz" "isle-$version"
echo "$out/isle-$version.tar.gz"
