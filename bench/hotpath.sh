#!/usr/bin/env bash
# The hot path, row by row, each as a ratio to its peer in one run:
# hermes-exec -c CMD against bash -c CMD (pipe mode and on a pseudo-terminal)
# for true, ls -la, git status and cat README.md; a 10,000-entry allowlist
# against a 10-entry one; `hermes-exec check` of a 1 MiB script (and of 1 MiB
# of echo lines) against `bash -n` of it. Usage: bench/hotpath.sh [BIN [BEFORE-BIN]]
#   N=runs of each side (default 200); ONLY=substring of the rows to run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v git >/dev/null || apt-get install -y git
go run ./bench/hotpath -bin "${1:-bin/hermes-exec}" ${2:+-before "$2"} -n "${N:-200}" -only "${ONLY:-}"
