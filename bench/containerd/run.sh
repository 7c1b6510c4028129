#!/usr/bin/env bash
# The containerd backend beside containerd's own CLI and the embedded
# sandbox, in one run (medians of `true`, start to exit; every round runs
# each side once, in a rotating order, so that the machine's load drifting
# hits all sides alike):
#   hermes-exec --backend containerd, session exec (task.Exec in a running
#     session container) and fresh container (container.persist: none),
#     with an image and with the host's root
#   ctr task exec into a running container of the same image
#   ctr run --rm of the same image, and with --seccomp (Docker's default
#     profile, as the backend applies; ctr applies none by default)
#   hermes-exec --backend sandbox, session exec and fresh
#   bash -c true, for scale
# and the ratios the goals name: session exec / ctr task exec (goal <= 0.5),
# fresh / ctr run --rm (goal <= 1). BEFORE=DIR (a directory with an older
# build's binaries, e.g. main's `make build BINDIR=DIR`) adds its fresh
# container (image) to the same run, as a ratio to this build's (and its
# session exec with BEFORE_SESSION=1). One more side is a fresh container whose state directory has
# no anchor yet (the first one after `sandbox rm` or gc: it makes the
# anchor, isolate/containerd/anchor.go).
#
# It starts its own containerd (tests/containerd-daemon.sh: own config,
# root, state and socket) and stops it at the end. Needs root, containerd,
# ctr and python3. Usage: [BEFORE=DIR] bench/containerd/run.sh [RUNS]
set -euo pipefail
runs=${1:-30}
root=$(cd "$(dirname "$0")/../.." && pwd)
before=${BEFORE:-}
if [ -n "$before" ]; then before=$(cd "$before" && pwd); fi
work=$(mktemp -d /var/tmp/hermes-cd-bench.XXXXXX)
ns=hermes-exec-bench-$$ # runc keeps state per namespace under /run/containerd/runc
sock=
cleanup() {
	for h in "$work"/home-*; do HERMES_HOME=$h "$work/hermes-exec" sandbox rm --all >/dev/null 2>&1 || true; done
	ctr --address "$sock" -n $ns task kill -s KILL bench-exec >/dev/null 2>&1 || true
	"$root/tests/containerd-daemon.sh" stop "$work/containerd" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

for tool in python3 containerd ctr; do
	command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "run as root (containerd, cgroup limits)" >&2; exit 2; }

make -C "$root" build BINDIR="$work" >/dev/null
sock=$("$root/tests/containerd-daemon.sh" start "$work/containerd")
mkdir -p "$work/ws"

# A small image made offline: bash and true with their libraries.
img=$work/img
for b in bash true; do
	for f in $(type -P $b) $(ldd "$(type -P $b)" | grep -o '/[^ ]*'); do
		mkdir -p "$img$(dirname "$f")"
		cp -L "$f" "$img$f"
	done
done
mkdir -p "$img/tmp" "$img/proc" "$img/dev" "$img/sys" "$img/run"
[ -e "$img/bin" ] || ln -s usr/bin "$img/bin"

config() { # NAME BACKEND PERSIST [IMAGE]
	mkdir -p "$work/home-$1"
	cat >"$work/home-$1/config.yaml" <<YAML
approvals:
  mode: "off"
terminal:
  backend: $2
container:
  workspace: $work/ws
  persist: $3
  memory: 1g
  image: ${4:-}
  containerd:
    address: $sock
    namespace: $ns
YAML
}
config cd-image-session containerd session local/bench:1
config cd-image-fresh containerd none local/bench:1
config cd-image-cold containerd none local/bench:1
config cd-host-session containerd session
config cd-host-fresh containerd none
config sbx-session sandbox session
config sbx-fresh sandbox none
config before-image-session containerd session local/bench:1
config before-image-fresh containerd none local/bench:1

HERMES_HOME=$work/home-cd-image-fresh "$work/hermes-exec" image build --from "$img" --name local/bench:1 >/dev/null 2>&1
# The peers' container: the same image, running, for ctr task exec.
ctr --address "$sock" -n $ns run -d local/bench:1 bench-exec /bin/bash -c 'read -r x' >/dev/null </dev/null
# Sessions exist before their exec is timed (made from the workspace: an
# image has no directory of the host's outside it).
cd "$work/ws"
for h in cd-image-session cd-host-session sbx-session; do
	HERMES_HOME=$work/home-$h HERMES_SESSION_ID=bench "$work/hermes-exec" -c true
done
[ -z "$before" ] || [ -z "${BEFORE_SESSION:-}" ] || HERMES_HOME=$work/home-before-image-session HERMES_SESSION_ID=bench "$before/hermes-exec" -c true

he() { echo "env HERMES_HOME=$work/home-$1 HERMES_SESSION_ID=bench ${2:-$work}/hermes-exec -c true"; }
# NAME, then COMMAND, then what runs untimed before each run of it (or "").
sides=()
if [ -n "$before" ]; then
	sides+=("before: containerd fresh (image)" "$(he before-image-fresh "$before")" "")
	# Its session only when asked: a build before the collection fix
	# (isolate/containerd/gc.go) sweeps other HERMES_HOMEs' session state,
	# and every session of the run then fails (137).
	[ -z "${BEFORE_SESSION:-}" ] || sides+=("before: containerd session exec (image)" "$(he before-image-session "$before")" "")
fi
sides+=(
	"hermes-exec containerd session exec (image)" "$(he cd-image-session)" ""
	"ctr task exec" "ctr --address $sock -n $ns task exec --exec-id bench bench-exec /bin/true" ""
	"hermes-exec containerd fresh (image)" "$(he cd-image-fresh)" ""
	"ctr run --rm" "ctr --address $sock -n $ns run --rm local/bench:1 bench-run /bin/true" ""
	"ctr run --rm --seccomp" "ctr --address $sock -n $ns run --rm --seccomp local/bench:1 bench-run /bin/true" ""
	"hermes-exec containerd session exec (host root)" "$(he cd-host-session)" ""
	"hermes-exec containerd fresh (host root)" "$(he cd-host-fresh)" ""
	"hermes-exec sandbox session exec" "$(he sbx-session)" ""
	"hermes-exec sandbox fresh" "$(he sbx-fresh)" ""
	"bash -c true (host)" "bash -c true" ""
	# The first fresh container after the anchor's removal: `sandbox rm
	# --all` of a HERMES_HOME that has nothing else, untimed, each time.
	"hermes-exec containerd fresh (image), no anchor yet" "$(he cd-image-cold)" "env HERMES_HOME=$work/home-cd-image-cold $work/hermes-exec sandbox rm --all"
)
python3 - "$runs" "${sides[@]}" <<'PY'
import shlex, statistics, subprocess, sys, time
runs = int(sys.argv[1])
a = sys.argv[2:]
sides = [(a[i], a[i + 1], a[i + 2]) for i in range(0, len(a), 3)]
times = {n: [] for n, _, _ in sides}
failed = {}
# Rounds in a rotating order, so that drift in the machine's load hits all
# sides alike; three warm-up rounds first.
for r in range(-3, runs):
    k = r % len(sides)
    for name, cmd, prep in sides[k:] + sides[:k]:
        if prep:
            subprocess.run(shlex.split(prep), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = time.perf_counter()
        p = subprocess.run(shlex.split(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t = time.perf_counter() - t
        if p.returncode != 0:
            # Counted and shown, not timed (nor hidden).
            failed[name] = failed.get(name, 0) + 1
            print("%s: exit %d: %s" % (name, p.returncode, p.stderr.decode(errors="replace").strip()), file=sys.stderr)
        elif r >= 0:
            times[name].append(t * 1e3)
print("| command | median ms | min ms | max ms |")
print("|:---|---:|---:|---:|")
for name, _, _ in sides:
    v = times[name]
    note = " (%d runs failed)" % failed[name] if name in failed else ""
    print("| %s%s | %.1f | %.1f | %.1f |" % (name, note, statistics.median(v), min(v), max(v)))
m = lambda n: statistics.median(times[n])
print()
print("session exec (image) / ctr task exec = %.2f (goal <= 0.5)" % (m("hermes-exec containerd session exec (image)") / m("ctr task exec")))
print("fresh (image) / ctr run --rm          = %.2f (goal <= 1)" % (m("hermes-exec containerd fresh (image)") / m("ctr run --rm")))
print("fresh (image) / ctr run --rm --seccomp = %.2f (the same seccomp profile on both sides)" % (m("hermes-exec containerd fresh (image)") / m("ctr run --rm --seccomp")))
print("session exec (host root) / ctr task exec = %.2f" % (m("hermes-exec containerd session exec (host root)") / m("ctr task exec")))
print("fresh (host root) / ctr run --rm          = %.2f" % (m("hermes-exec containerd fresh (host root)") / m("ctr run --rm")))
print("containerd session exec (host root) / sandbox session exec = %.2f" % (m("hermes-exec containerd session exec (host root)") / m("hermes-exec sandbox session exec")))
print("containerd fresh (host root) / sandbox fresh = %.2f" % (m("hermes-exec containerd fresh (host root)") / m("hermes-exec sandbox fresh")))
print("fresh (image), no anchor yet / ctr run --rm = %.2f" % (m("hermes-exec containerd fresh (image), no anchor yet") / m("ctr run --rm")))
if "before: containerd fresh (image)" in times:
    print("fresh (image): this build / before = %.2f" % (m("hermes-exec containerd fresh (image)") / m("before: containerd fresh (image)")))
if "before: containerd session exec (image)" in times:
    print("session exec (image): this build / before = %.2f" % (m("hermes-exec containerd session exec (image)") / m("before: containerd session exec (image)")))
PY
