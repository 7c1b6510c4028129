#!/bin/bash
# Ask rate of the classifier on this machine's own shell scripts, with
# exec checks off and on (issue 14): every shell script in /usr/bin,
# /usr/sbin, /etc/init.d and git-core is classified as `hermes-exec
# script.sh` would classify it. Prints the rates and, for "on", the rules
# that still ask, so what remains can be read.
#   bench/execcheck/scripts.sh [bin/hermes-exec]
set -euo pipefail
bin=$(realpath "${1:-bin/hermes-exec}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/off" "$work/on"
printf 'terminal:\n  exec_checks: off\n' >"$work/off/config.yaml"
printf 'terminal:\n  exec_checks: on\n' >"$work/on/config.yaml"

scripts=()
for d in /usr/bin /usr/sbin /etc/init.d /usr/lib/git-core; do
	[ -d "$d" ] || continue
	while IFS= read -r -d '' f; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		head -c 64 "$f" 2>/dev/null | head -n1 | grep -Eq '^#! ?(/usr)?/bin/(env )?(ba|da)?sh\b' || continue
		scripts+=("$f")
	done < <(find "$d" -maxdepth 1 -type f -print0)
done
n=${#scripts[@]}
[ "$n" -gt 0 ] || { echo "no shell scripts found" >&2; exit 1; }

for mode in off on; do
	ask=0 deny=0
	: >"$work/$mode.rules"
	for f in "${scripts[@]}"; do
		rc=0
		out=$(HERMES_HOME="$work/$mode" "$bin" check --json <"$f") || rc=$?
		case $rc in
		0) ;;
		1) ask=$((ask + 1)) ;;
		*) deny=$((deny + 1)) ;;
		esac
		if [ "$mode" = on ] && [ "$rc" != 0 ]; then
			printf '%s\n' "$out" | grep -o '"rule":"[^"]*"' | sort -u | sed "s|^|$f |" >>"$work/$mode.rules"
		fi
	done
	printf 'exec_checks %-3s  scripts %d  ask %d (%d %%)  deny %d\n' "$mode" "$n" "$ask" $((100 * ask / n)) "$deny"
done
echo "rules still asking with exec checks on (scripts per rule):"
cut -d' ' -f2 "$work/on.rules" | sort | uniq -c | sort -rn
if [ -n "${VERBOSE:-}" ]; then cat "$work/on.rules"; fi
