#!/usr/bin/env bash
# What exec checks cost, as ratios of the same commands with checks on and
# off, in one run (alternating, medians of R rounds):
#   1. a loop of 1,000 /bin/true execs in one command;
#   2. `make -j2` of a small C project (24 files), from clean.
# With a second binary (a peer build, e.g. main's), both are run in the
# same rounds and compared too.
# Usage: bench/execcheck/run.sh [bin/hermes-exec [PEER]]   (R=7 by default)
set -euo pipefail
bin=$(realpath "${1:-bin/hermes-exec}")
peer=${2:+$(realpath "$2")}
rounds=${R:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for m in on off; do
	mkdir -p "$work/$m"
	printf 'terminal:\n  exec_checks: %s\n' "$m" >"$work/$m/config.yaml"
done

# A small C project: 24 translation units and a program linking them.
proj=$work/proj
mkdir -p "$proj"
for i in $(seq 1 24); do
	cat >"$proj/f$i.c" <<C
#include <stdio.h>
int f$i(int x) { int s = 0; for (int k = 0; k < x; k++) s += k * $i; return s; }
C
done
{
	echo '#include <stdio.h>'
	for i in $(seq 1 24); do echo "int f$i(int);"; done
	echo 'int main(void) { int s = 0;'
	for i in $(seq 1 24); do echo "s += f$i(10);"; done
	echo 'printf("%d\n", s); return 0; }'
} >"$proj/main.c"
cat >"$proj/Makefile" <<'MK'
SRC := $(wildcard *.c)
OBJ := $(SRC:.c=.o)
prog: $(OBJ)
	$(CC) -o $@ $(OBJ)
%.o: %.c
	$(CC) -O1 -c $< -o $@
clean:
	rm -f prog $(OBJ)
.PHONY: clean
MK

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# time_one MODE TEXT: "WALL CPU" in milliseconds for one `hermes-exec -c
# TEXT`; CPU is user+system of the whole process tree (bash's time), which
# a machine shared with other work disturbs less than the wall clock.
time_one() {
	local out
	out=$({ TIMEFORMAT='%R %U %S'; time HERMES_HOME="$work/$1" "$bin" -c "$2" </dev/null >/dev/null 2>&1; } 2>&1)
	awk -v t="$out" 'BEGIN { split(t, f, " "); printf "%d %d\n", f[1] * 1000, (f[2] + f[3]) * 1000 }'
}
# The loop also reports the supervisor's own CPU: the wrapper's threads
# (bash's parent), summed from schedstat at the end, in ms. It is the
# part exec checks add, and a loaded machine disturbs it less than the
# whole tree.
loop='for i in $(seq 1000); do /bin/true; done; s=0; for f in /proc/$PPID/task/*/schedstat; do read -r a b c <"$f"; s=$((s + a)); done; echo "wrapper $((s / 1000000))"'
build="cd $proj && make -s clean && make -s -j2 prog"
bins=(self)
[ -n "$peer" ] && bins+=(peer)
for b in "${bins[@]}"; do for m in on off; do : >"$work/loop.$b.$m"; : >"$work/make.$b.$m"; : >"$work/sup.$b.$m"; done; done
# time_b WHICH MODE TEXT OUT: like time_one with the binary named by WHICH;
# the command's stdout goes to OUT.
time_b() {
	local exe=$bin out
	[ "$1" = peer ] && exe=$peer
	out=$({ TIMEFORMAT='%R %U %S'; time HERMES_HOME="$work/$2" "$exe" -c "$3" </dev/null >"$4" 2>&1; } 2>&1)
	awk -v t="$out" 'BEGIN { split(t, f, " "); printf "%d %d\n", f[1] * 1000, (f[2] + f[3]) * 1000 }'
}
time_one on "$build" >/dev/null # warm the page cache and the compiler
for r in $(seq "$rounds"); do
	for b in "${bins[@]}"; do
		for m in on off; do
			time_b "$b" "$m" "$loop" "$work/out" >>"$work/loop.$b.$m"
			awk '/^wrapper / { print $2 }' "$work/out" >>"$work/sup.$b.$m"
			time_b "$b" "$m" "$build" /dev/null >>"$work/make.$b.$m"
		done
	done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (after)"
for b in "${bins[@]}"; do
	[ "$b" = self ] && echo "== $bin" || echo "== peer $peer"
	for k in loop make; do
		case $k in
		loop) what="1,000 /bin/true execs" goal=1.15 ;;
		make) what="make -j2 (24 C files)" goal=1.10 ;;
		esac
		won=$(cut -d' ' -f1 "$work/$k.$b.on" | median) woff=$(cut -d' ' -f1 "$work/$k.$b.off" | median)
		con=$(cut -d' ' -f2 "$work/$k.$b.on" | median) coff=$(cut -d' ' -f2 "$work/$k.$b.off" | median)
		printf '%-24s wall on %5d off %5d ms ratio %sx | cpu on %5d off %5d ms ratio %sx  (goal <= %sx)\n' "$what" \
			"$won" "$woff" "$(ratio "$won" "$woff")" "$con" "$coff" "$(ratio "$con" "$coff")" "$goal"
	done
	printf '%-24s on %5d off %5d ms (the checks: %d us per exec)\n' "supervisor CPU, loop" \
		"$(median <"$work/sup.$b.on")" "$(median <"$work/sup.$b.off")" \
		"$(($(median <"$work/sup.$b.on") - $(median <"$work/sup.$b.off")))"
done
if [ -n "$peer" ]; then
	printf 'this build / peer, checks on, CPU: loop %sx, make %sx, supervisor %sx\n' \
		"$(ratio "$(cut -d' ' -f2 "$work/loop.self.on" | median)" "$(cut -d' ' -f2 "$work/loop.peer.on" | median)")" \
		"$(ratio "$(cut -d' ' -f2 "$work/make.self.on" | median)" "$(cut -d' ' -f2 "$work/make.peer.on" | median)")" \
		"$(ratio "$(median <"$work/sup.self.on")" "$(median <"$work/sup.peer.on")")"
fi
