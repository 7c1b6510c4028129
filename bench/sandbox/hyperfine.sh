#!/usr/bin/env bash
# The earlier sandbox table (kept so that regressions show against the
# figures README quoted before bench/sandbox/run.sh printed ratios).
# Median start-to-exit of `true` in a sandbox, measured in one hyperfine run:
#   hermes-exec --backend sandbox, fresh container (container.persist: none)
#   hermes-exec --backend sandbox, session container (an existing one: the
#     main binary asks its reaper to start the command, no helper started)
#   runc run of an equivalent bundle (read-only host root, new namespaces,
#     user namespace, no capabilities, default seccomp profile), fresh each time
#   bwrap with the same view (read-only /, new /proc /dev /tmp, unshared
#     namespaces, no capabilities)
#   plain bash -c true, for scale
# With BEFORE=DIR (a directory holding another build's hermes-exec and
# hermes-exec-sandbox, e.g. `make build BINDIR=DIR` at an older commit), the
# same two hermes-exec rows are also timed for that build, in the same run,
# so that before/after is a ratio measured under the same load.
# Needs root; installs hyperfine, runc and bwrap with apt when missing.
# Usage: bench/sandbox/hyperfine.sh [RUNS]
set -euo pipefail
runs=${1:-50}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /var/tmp/hermes-sbx-bench.XXXXXX)
trap 'HERMES_HOME=$work/home "$work/hermes-exec" sandbox rm --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

[ "$(id -u)" = 0 ] || { echo "run as root (cgroup limits)" >&2; exit 2; }
"$(dirname "$0")/tools.sh" hyperfine runc bwrap

make -C "$root" build BINDIR="$work" >/dev/null
mkdir -p "$work/home-fresh" "$work/home-session" "$work/ws"
for kind in fresh session; do
	persist=none; [ "$kind" = session ] && persist=session
	cat > "$work/home-$kind/config.yaml" <<YAML
approvals:
  mode: "off"
terminal:
  backend: sandbox
container:
  workspace: $work/ws
  persist: $persist
  memory: 1g
YAML
done

# runc bundle: the host's root read-only (runc needs a rootfs directory, so
# the host / is bind-mounted into one), the same namespaces and limits.
mkdir -p "$work/bundle/rootfs"
(cd "$work/bundle" && runc spec --rootless >/dev/null 2>&1 || runc spec)
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"] = {"path": "rootfs", "readonly": True}
c["mounts"] = [m for m in c["mounts"] if m["destination"] not in ("/sys/fs/cgroup",)]
c["mounts"].insert(0, {"destination": "/", "type": "bind", "source": "/", "options": ["rbind", "ro"]})
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=512m"]})
c["linux"].setdefault("resources", {})["memory"] = {"limit": 1 << 30}
c["linux"]["resources"]["pids"] = {"limit": 1024}
json.dump(c, open(p, "w"))
PY
# The bind of / onto the bundle's rootfs is what runc's rootfs must be.
runc_cmd="runc --root $work/runc-state run --bundle $work/bundle hermes-bench"
# If runc refuses "/" as a mount destination, fall back to a rootfs bind of /.
if ! $runc_cmd >/dev/null 2>&1; then
	python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/"]
json.dump(c, open(p, "w"))
PY
	mount --bind / "$work/bundle/rootfs"
	trap 'umount "$work/bundle/rootfs" 2>/dev/null; HERMES_HOME=$work/home-session "$work/hermes-exec" sandbox rm --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi

bwrap_cmd="bwrap --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp --bind $work/ws $work/ws --unshare-all --cap-drop ALL --die-with-parent /bin/true"

# Create the session container before timing the exec into it.
HERMES_HOME=$work/home-session HERMES_SESSION_ID=bench "$work/hermes-exec" -c true
before=()
if [ -n "${BEFORE:-}" ]; then
	for kind in fresh session; do
		mkdir -p "$work/before-$kind"
		cp "$work/home-$kind/config.yaml" "$work/before-$kind/config.yaml"
	done
	HERMES_HOME=$work/before-session HERMES_SESSION_ID=bench "$BEFORE/hermes-exec" -c true
	trap 'HERMES_HOME=$work/before-session "$BEFORE/hermes-exec" sandbox rm --all >/dev/null 2>&1 || true; umount "$work/bundle/rootfs" 2>/dev/null; HERMES_HOME=$work/home-session "$work/hermes-exec" sandbox rm --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
	before=(-n "hermes-exec sandbox (fresh, before)" "env HERMES_HOME=$work/before-fresh $BEFORE/hermes-exec -c true"
		-n "hermes-exec sandbox (session exec, before)" "env HERMES_HOME=$work/before-session HERMES_SESSION_ID=bench $BEFORE/hermes-exec -c true")
fi

cd "$work/ws"
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/times.json" \
	-n "hermes-exec sandbox (fresh)" "env HERMES_HOME=$work/home-fresh $work/hermes-exec -c true" \
	-n "hermes-exec sandbox (session exec)" "env HERMES_HOME=$work/home-session HERMES_SESSION_ID=bench $work/hermes-exec -c true" \
	"${before[@]}" \
	-n "runc run (fresh)" "$runc_cmd" \
	-n "bwrap" "$bwrap_cmd" \
	-n "bash -c true (host)" "bash -c true" >&2
python3 - "$work/times.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
print("| command | median ms | min ms | max ms |")
print("|:---|---:|---:|---:|")
for r in res:
    print("| %s | %.1f | %.1f | %.1f |" % (r["command"], r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3))
PY
