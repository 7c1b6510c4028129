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

ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# time_one MODE TEXT: milliseconds for one `hermes-exec -c TEXT`.
time_one() {
	local t0 t1
	t0=$(ms)
	HERMES_HOME="$work/$1" "$bin" -c "$2" </dev/null >/dev/null
	t1=$(ms)
	echo $((t1 - t0))
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
	on=$(median <"$work/$b.on")
	off=$(median <"$work/$b.off")
	ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')
	case $b in
	loop) what="1,000 /bin/true execs" goal=1.15 ;;
	make) what="make -j2 (24 C files)" goal=1.10 ;;
	esac
	printf '%-24s on %5d ms  off %5d ms  ratio %sx  (goal <= %sx)\n' "$what" "$on" "$off" "$ratio" "$goal"
done
