#!/usr/bin/env bash
# What exec checks cost, as ratios of the same commands with checks on and
# off, in one run (alternating, medians of R rounds):
#   1. a loop of 1,000 /bin/true execs in one command;
#   2. `make -j2` of a small C project (24 files), from clean.
# Usage: bench/execcheck/run.sh [bin/hermes-exec]   (R=7 by default)
set -euo pipefail
bin=$(realpath "${1:-bin/hermes-exec}")
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
loop='for i in $(seq 1000); do /bin/true; done'
build="cd $proj && make -s clean && make -s -j2 prog"
for m in on off; do : >"$work/loop.$m"; : >"$work/make.$m"; done
time_one on "$build" >/dev/null # warm the page cache and the compiler
for r in $(seq "$rounds"); do
	for m in on off; do
		time_one "$m" "$loop" >>"$work/loop.$m"
		time_one "$m" "$build" >>"$work/make.$m"
	done
done
for b in loop make; do
	case $b in
	loop) what="1,000 /bin/true execs" goal=1.15 ;;
	make) what="make -j2 (24 C files)" goal=1.10 ;;
	esac
	won=$(cut -d' ' -f1 "$work/$b.on" | median) woff=$(cut -d' ' -f1 "$work/$b.off" | median)
	con=$(cut -d' ' -f2 "$work/$b.on" | median) coff=$(cut -d' ' -f2 "$work/$b.off" | median)
	printf '%-24s wall on %5d off %5d ms ratio %sx | cpu on %5d off %5d ms ratio %sx  (goal <= %sx)\n' "$what" \
		"$won" "$woff" "$(awk -v a="$won" -v b="$woff" 'BEGIN { printf "%.3f", a / b }')" \
		"$con" "$coff" "$(awk -v a="$con" -v b="$coff" 'BEGIN { printf "%.3f", a / b }')" "$goal"
done
