#!/usr/bin/env bash
# What hermes-exec adds to every command: `hermes-exec -c true` against
# `bash -c true`, alternating runs, medians and ratio. Usage: bench/startup.sh [BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/startup -bin "${1:-bin/hermes-exec}" -n "${N:-300}"
