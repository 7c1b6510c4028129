#!/usr/bin/env bash
# Starts a private containerd for the tests and benchmarks: its own config,
# root, state and socket under DIR, so that it never touches a containerd
# the machine already runs (systemd is not PID 1 in CI, so nothing else
# would start one). Prints the socket path.
#
#   tests/containerd-daemon.sh start DIR   start it (waits until it answers)
#   tests/containerd-daemon.sh stop DIR    stop it and unmount what it left
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock=$dir/containerd.sock

case $cmd in
start)
	if [ -S "$sock" ] && ctr --address "$sock" version >/dev/null 2>&1; then
		echo "$sock"
		exit 0
	fi
	cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
TOML
	containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
	echo $! >"$dir/containerd.pid"
	for _ in $(seq 1 100); do
		if ctr --address "$sock" version >/dev/null 2>&1; then
			echo "$sock"
			exit 0
		fi
		sleep 0.1
	done
	echo "containerd did not start; its log:" >&2
	cat "$dir/containerd.log" >&2
	exit 1
	;;
stop)
	# What still runs goes first, through containerd, so that runc's own
	# state (kept per namespace under /run/containerd/runc) goes with it.
	if [ -S "$sock" ]; then
		for ns in $(ctr --address "$sock" namespaces ls -q 2>/dev/null); do
			for c in $(ctr --address "$sock" -n "$ns" containers ls -q 2>/dev/null); do
				ctr --address "$sock" -n "$ns" tasks kill -s KILL "$c" >/dev/null 2>&1 || true
				ctr --address "$sock" -n "$ns" tasks rm -f "$c" >/dev/null 2>&1 || true
				ctr --address "$sock" -n "$ns" containers rm "$c" >/dev/null 2>&1 || true
			done
		done
	fi
	if [ -f "$dir/containerd.pid" ]; then
		pid=$(cat "$dir/containerd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$dir/containerd.pid"
	fi
	# Shims of this daemon (and their containers) outlive it: end them,
	# found by the daemon's own socket on their command line.
	for p in /proc/[0-9]*; do
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim.* -address $sock"; then
			pkill -KILL -P "${p#/proc/}" 2>/dev/null || true # its containers' inits
			kill -9 "${p#/proc/}" 2>/dev/null || true
		fi
	done
	# Snapshot mounts of containers still running when it stopped.
	# (none is the usual case: grep finding nothing is no failure)
	{ grep -o " $dir/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	;;
*)
	echo "usage: $0 start|stop DIR" >&2
	exit 2
	;;
esac
