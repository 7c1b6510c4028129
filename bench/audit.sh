#!/usr/bin/env bash
# `hermes-exec audit verify` on an intact 100,000-record log against
# `sha256sum` of the same file: alternating runs, medians and ratio.
# Usage: bench/audit.sh [BIN]   (RECORDS=N to change the size)
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/audit -bin "${1:-bin/hermes-exec}" -records "${RECORDS:-100000}" -n "${N:-11}"
