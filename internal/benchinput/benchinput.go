// Package benchinput makes the inputs the benchmarks and the speed
// script classify, so that bench/hotpath and policy's Go benchmarks time
// the very same text.
package benchinput

import (
	"fmt"
	"strings"
)

// BigScript is about size bytes of an everyday build script: functions,
// loops, conditionals, pipelines, substitutions, quoting (the shape
// bench/hotpath.sh classifies: `hermes-exec check` of 1 MiB against bash -n).
func BigScript(size int) string {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\nset -euo pipefail\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `build_%d() {
  local out="build/%d" src="${1:-src}"
  mkdir -p "$out"
  for f in "$src"/*.c; do
    [ -f "$f" ] || continue
    cc -O2 -c "$f" -o "$out/$(basename "$f" .c).o" 2>>"$out/log.txt"
  done
  if grep -q 'error' "$out/log.txt"; then echo "build %d failed" >&2; return 1; fi
  find "$out" -name '*.o' | sort | xargs ls -la | awk '{print $5, $9}' > "$out/sizes"
  git log --oneline -n 5 -- "$src" | sed 's/^/  /'
  case "$(uname -s)" in Linux) echo linux ;; Darwin) echo mac ;; *) echo other ;; esac
}
`, i, i, i)
	}
	return b.String()
}

// EchoLines is about size bytes of `echo wNNNNNN` lines (80,000 for 1
// MiB): the most statements a text of that size holds in an everyday
// shape, each walked.
func EchoLines(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "echo w%06d\n", i)
	}
	return b.String()
}
