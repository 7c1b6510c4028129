#!/usr/bin/env bash
# Per-command cost through the supervisor, beside the direct sandbox
# session, measured in one hyperfine run, as a ratio (goal: <= 1.2x):
#   supervisor     a user's hermes-exec, terminal.backend: supervisor,
#                  session sandbox (the supervisor starts the helper for the
#                  user; the sandbox runs as the user, one user namespace
#                  deeper, as rootless)
#   rootless       the same user's hermes-exec, terminal.backend: sandbox,
#                  session (the direct sandbox session of that user)
#   root-direct    root's hermes-exec, terminal.backend: sandbox, session
#                  (the reaper's fast path, no helper)
#   host           the user's hermes-exec on the host, for scale
# Needs root, useradd and hyperfine. It makes a user and a supervisor of its
# own (test build: its own socket) and removes both.
# Usage: bench/supervisor/run.sh [RUNS]
set -euo pipefail
runs=${1:-40}
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "missing hyperfine (apt-get install hyperfine)" >&2; exit 2; }
work=$(mktemp -d /var/tmp/hermes-sv-bench.XXXXXX)
chmod 755 "$work"
run=$(mktemp -d /run/hermes-sv-bench.XXXXXX)
chmod 755 "$run"
user=hxbench$$
group=hxbenchg$$
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
	for d in "$run"/state/*; do
		[ -d "$d" ] && HERMES_SANDBOX_REQUEST="{\"Options\":{\"StateDir\":\"$d\"}}" "$work/hermes-exec-sandbox" rm --all >/dev/null 2>&1 || true
	done
	HERMES_HOME=$work/root-home "$work/hermes-exec" sandbox rm --all >/dev/null 2>&1 || true
	runuser -u "$user" -- env HERMES_HOME="/home/$user/.hermes-rootless" "$work/hermes-exec" sandbox rm --all >/dev/null 2>&1 || true
	pkill -KILL -u "$user" 2>/dev/null || true
	userdel -r -f "$user" 2>/dev/null || true
	groupdel "$group" 2>/dev/null || true
	rm -rf "$work" "$run"
}
trap cleanup EXIT

make -C "$root" build BINDIR="$work" EXTRATAGS=hermes_testpolicy >/dev/null
groupadd "$group"
useradd -m -G "$group" -s /bin/bash "$user"
home=/home/$user
mkdir -p "$home/ws" "$home/.hermes" "$home/.hermes-rootless" "$home/.hermes-host" "$work/root-home" "$work/ws"
cfg() { printf 'approvals:\n  mode: "off"\nterminal:\n  backend: %s\ncontainer:\n  workspace: %s\n  persist: session\n%s' "$1" "$2" "${3:-}"; }
cfg supervisor "$home/ws" > "$home/.hermes/config.yaml"
cfg sandbox "$home/ws" > "$home/.hermes-rootless/config.yaml"
cfg host "$home/ws" > "$home/.hermes-host/config.yaml"
cfg sandbox "$work/ws" '  memory: 1g
' > "$work/root-home/config.yaml"
chown -R "$user:$user" "$home"

HERMES_TEST_POLICY=$run/policy.yaml "$work/hermes-exec" supervisor --listen "$run/s.sock" --group "$group" \
	--state-dir "$run/state" --audit-dir "$run/audit" 2>"$run/daemon.log" &
daemon=$!
for _ in $(seq 100); do [ -S "$run/s.sock" ] && break; sleep 0.05; done

as_user="runuser -u $user -- env -i PATH=/usr/bin:/bin HOME=$home HERMES_SESSION_ID=bench HERMES_TEST_SUPERVISOR_SOCKET=$run/s.sock HERMES_TEST_POLICY=$run/policy.yaml"
sv="cd $home/ws && $as_user HERMES_HOME=$home/.hermes $work/hermes-exec -c true"
rl="cd $home/ws && $as_user HERMES_HOME=$home/.hermes-rootless $work/hermes-exec -c true"
ho="cd $home/ws && $as_user HERMES_HOME=$home/.hermes-host $work/hermes-exec -c true"
rd="cd $work/ws && runuser -u root -- env -i PATH=/usr/bin:/bin HOME=/root HERMES_SESSION_ID=bench HERMES_HOME=$work/root-home $work/hermes-exec -c true"
# Every session exists before timing starts.
for c in "$sv" "$rl" "$rd" "$ho"; do bash -c "$c" || { echo "failed: $c" >&2; cat "$run/daemon.log" >&2; exit 1; }; done

hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/out.json" \
	-n supervisor "bash -c '$sv'" -n rootless "bash -c '$rl'" -n root-direct "bash -c '$rd'" -n host "bash -c '$ho'" >/dev/null
python3 - "$work/out.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
for k, v in r.items():
    print(f"{k:12s} {v:7.1f} ms median")
print(f"supervisor / rootless (the user's direct sandbox session): {r['supervisor'] / r['rootless']:.2f}x")
print(f"supervisor / root-direct (root's session, reaper fast path): {r['supervisor'] / r['root-direct']:.2f}x")
PY
