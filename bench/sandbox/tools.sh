#!/usr/bin/env bash
# Installs the peers the sandbox benchmarks compare against, when missing:
# tools.sh TOOL... (bwrap, runc, hyperfine; Debian package names differ).
set -euo pipefail
missing=()
for tool in "$@"; do
	command -v "$tool" >/dev/null && continue
	case $tool in
	bwrap) missing+=(bubblewrap) ;;
	*) missing+=("$tool") ;;
	esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
command -v apt-get >/dev/null || { echo "missing ${missing[*]} (and no apt-get to install them)" >&2; exit 2; }
apt-get install -y "${missing[@]}" >/dev/null || { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
