#!/usr/bin/env bash
# Builds a root filesystem from an OCI image layout tarball: build-from-oci.sh <image.tar> <outdir>.
# The work is in build-from-oci.mjs (Node, which every Isle host has): see its header.
set -euo pipefail
exec node "$(dirname "$0")/build-from-oci.mjs" "$@"
