#!/usr/bin/env bash
# Builds a container function's root filesystem directory from pinned Debian packages.
#
#   infra/rootfs/build.sh <python3|node|exec> <outdir>   build from packages/<kind>.lock
#   infra/rootfs/build.sh lock <python3|node|exec>        re-resolve packages/<kind>.lock from apt
#
# The lock names every package (dependencies resolved) at an exact version; `apt-get download`
# fetches them (checked against the signed archive's hashes) into a cache and `dpkg-deb -x` unpacks
# them. No maintainer script runs: the few things they would do (merged /usr, users) are done here.
# Then the watchdog goes to /opt/isle/watchdog and the command that starts it to /opt/isle/command
# (a JSON argv). docs/adr/0028-container-functions.md has the contract, sizes and timings.
#
# Environment: ISLE_ROOTFS_CACHE (where .debs are kept; default ~/.cache/isle/debs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage() { echo "usage: $0 <python3|node|exec> <outdir> | $0 lock <python3|node|exec>" >&2; exit 2; }

# What each kind asks for; apt resolves the rest.
roots() {
  case "$1" in
    python3) echo "python3.11-minimal libpython3.11-stdlib" ;;
    node) echo "libc6 libstdc++6 libgcc-s1" ;;
    exec) echo "python3.11-minimal libpython3.11-stdlib busybox-static" ;;
    *) usage ;;
  esac
}
# Dependencies that only maintainer scripts or unrelated tools use (dpkg, perl via mailcap's
# scripts, tar): a rootfs that never runs dpkg needs none of them.
excluded="dpkg install-info perl perl-base perl-modules-5.36 libperl5.36 libgdbm-compat4 tar mailcap mime-support"

lock() {
  local kind="$1" file="$here/packages/$1.lock"
  mkdir -p "$here/packages"
  # shellcheck disable=SC2046
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances $(roots "$kind") \
    | grep '^[a-z0-9]' | sort -u \
    | grep -vxF -f <(tr ' ' '\n' <<<"$excluded") \
    | while read -r pkg; do echo "$pkg=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')"; done >"$file.tmp"
  mv "$file.tmp" "$file"
  echo "wrote $file ($(wc -l <"$file") packages)" >&2
}

[ $# -eq 2 ] || usage
if [ "$1" = lock ]; then roots "$2" >/dev/null; lock "$2"; exit 0; fi
kind="$1" out="$2"
roots "$kind" >/dev/null
lockfile="$here/packages/$kind.lock"
[ -f "$lockfile" ] || { echo "no $lockfile: run $0 lock $kind" >&2; exit 1; }
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then echo "$out exists and is not empty" >&2; exit 1; fi
started=$(date +%s%N)

cache="${ISLE_ROOTFS_CACHE:-$HOME/.cache/isle/debs}"
mkdir -p "$cache" "$out"
out="$(cd "$out" && pwd)"
# Download what the cache lacks. apt-get download names files <name>_<version>_<arch>.deb with the
# epoch's ':' escaped as %3a.
missing=()
while IFS='=' read -r pkg version; do
  compgen -G "$cache/${pkg}_${version/:/%3a}_*.deb" >/dev/null || missing+=("$pkg=$version")
done <"$lockfile"
if [ ${#missing[@]} -gt 0 ]; then
  (cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}") >&2 || {
    echo "apt-get download failed: a pinned version may have left the mirror; re-lock ($0 lock $kind) or point apt at snapshot.debian.org" >&2
    exit 1
  }
fi
while IFS='=' read -r pkg version; do
  dpkg-deb -x "$(compgen -G "$cache/${pkg}_${version/:/%3a}_*.deb" | head -n1)" "$out"
done <"$lockfile"

# Merged /usr, as Debian bookworm installs it: /bin, /sbin, /lib* are links into /usr.
for d in bin sbin lib lib32 lib64 libx32; do
  if [ -d "$out/$d" ] && [ ! -L "$out/$d" ]; then
    mkdir -p "$out/usr/$d"
    cp -a "$out/$d/." "$out/usr/$d/"
    rm -rf "${out:?}/$d"
  fi
  if [ -d "$out/usr/$d" ] || [ "$d" = bin ] || [ "$d" = lib ]; then mkdir -p "$out/usr/$d"; ln -sfn "usr/$d" "$out/$d"; fi
done
# Documentation, and glibc's iconv modules (8 MB) that neither Python's codecs nor Node use.
rm -rf "$out/usr/share/doc" "$out/usr/share/man" "$out/usr/share/info" "$out/usr/share/locale" "$out/usr/share/lintian" \
  "$out"/usr/lib/*-linux-gnu/gconv

# The unprivileged user the agent runs functions as (uid and gid 65532, as distroless images).
mkdir -p "$out/etc" "$out/tmp" "$out/app" "$out/run/isle" "$out/proc" "$out/dev" "$out/sys" "$out/opt/isle/watchdog"
chmod 1777 "$out/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nisle:x:65532:65532:isle:/tmp:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\nisle:x:65532:\nnogroup:x:65534:\n' >"$out/etc/group"

case "$kind" in
  python3 | exec)
    ln -sfn python3.11 "$out/usr/bin/python3"
    cp "$here/watchdog/python/isle_watchdog.py" "$out/opt/isle/watchdog/"
    printf '["/usr/bin/python3", "-u", "/opt/isle/watchdog/isle_watchdog.py"]\n' >"$out/opt/isle/command"
    ;;
  node)
    # Debian bookworm's nodejs is Node 18; Isle's hosts run Node >= 20.19 (scripts/setup.sh), so the
    # rootfs gets the host's binary, which links only against libc, libstdc++ and libgcc_s.
    node_bin="$(readlink -f "$(command -v node)")"
    install -D -m 0755 "$node_bin" "$out/usr/local/bin/node"
    cp "$here/watchdog/node/watchdog.cjs" "$out/opt/isle/watchdog/"
    printf '["/usr/local/bin/node", "/opt/isle/watchdog/watchdog.cjs"]\n' >"$out/opt/isle/command"
    ;;
esac
if [ "$kind" = exec ]; then
  # busybox's applets give an executable's scripts a shell and the usual tools.
  for applet in $("$out/usr/bin/busybox" --list); do
    [ -e "$out/usr/bin/$applet" ] || ln -s busybox "$out/usr/bin/$applet"
  done
fi
{
  echo "kind=$kind"
  echo "lock-sha256=$(sha256sum "$lockfile" | cut -d' ' -f1)"
  [ "$kind" = node ] && echo "node=$("$out/usr/local/bin/node" --version)"
} >"$out/opt/isle/rootfs-info"

# Smoke check: the interpreter starts inside the tree (chroot needs root; without it, say so).
# Python also compiles its standard library here: Debian does it in a maintainer script, and on a
# read-only root every cold start would otherwise recompile what it imports (0.25 s against 0.04 s).
if [ "$(id -u)" -eq 0 ]; then
  in_root() { env -i PATH=/usr/local/bin:/usr/bin "$(command -v chroot)" "$out" "$@"; }
  case "$kind" in
    python3 | exec)
      in_root /usr/bin/python3 -m compileall -q /usr/lib/python3.11 /opt/isle/watchdog >/dev/null
      in_root /usr/bin/python3 -c 'import http.server, socketserver, subprocess, wsgiref' ;;
    node) in_root /usr/local/bin/node -e 'require("node:http")' ;;
  esac
  if [ "$kind" = exec ]; then in_root /bin/sh -c true; fi
else
  echo "not root: skipped the chroot smoke check" >&2
fi
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
echo "built $kind rootfs in $out: $(du -sh "$out" | cut -f1), ${elapsed_ms} ms" >&2
