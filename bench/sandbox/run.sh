#!/usr/bin/env bash
# The sandbox rows of the hot path, each as a ratio to its peers in one run
# (ratios.py): a command in a running session container and a fresh
# container, beside bwrap with a comparable view, `runc run` and `runc exec`
# of an equivalent bundle. Installs bwrap and runc with apt when missing.
# Usage (as root): bench/sandbox/run.sh [RUNS]
#   BEFORE=DIR adds another build's hermes-exec and hermes-exec-sandbox
#   (make build BINDIR=DIR at an older commit) to the same rotation.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run as root (cgroup limits)" >&2; exit 2; }
"$root/bench/sandbox/tools.sh" bwrap runc
bin=$(mktemp -d /var/tmp/hermes-sbx-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
make -C "$root" build BINDIR="$bin" >/dev/null
python3 "$root/bench/sandbox/ratios.py" "$bin" ${BEFORE:+--before "$BEFORE"} -n "${1:-100}"
