package policy

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

func benchCommands(b *testing.B) []string {
	var cmds []string
	for _, path := range []string{"testdata/corpus-sample.jsonl", "testdata/extra.jsonl"} {
		for _, e := range loadCorpus(b, path) {
			cmds = append(cmds, e.Cmd)
		}
	}
	return cmds
}

// BenchmarkClassify: one op classifies one corpus command (round robin).
func BenchmarkClassify(b *testing.B) {
	cmds := benchCommands(b)
	c, _ := NewClassifier(Rules{Allowlist: []string{"git push", "npm test"}, Deny: []string{"git push --force"}})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Classify(cmds[i%len(cmds)])
	}
}

// BenchmarkClassifyLatency reports the per-command latency distribution:
// each corpus command is timed individually and p50/p99/max are reported
// in microseconds.
func BenchmarkClassifyLatency(b *testing.B) {
	cmds := benchCommands(b)
	c, _ := NewClassifier(Rules{Allowlist: []string{"git push"}, Deny: []string{"git push --force"}})
	for _, s := range cmds { // warm the pools
		c.Classify(s)
	}
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := cmds[i%len(cmds)]
		start := time.Now()
		c.Classify(s)
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	q := func(p float64) float64 {
		return float64(samples[int(p*float64(len(samples)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(1.0), "max-µs")
}

// bigScript is about size bytes of an everyday build script, the shape
// bench/hotpath.sh classifies (`hermes-exec check` of 1 MiB against bash -n).
func bigScript(size int) string {
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

// BenchmarkClassifyBigScript: one op classifies a 1 MiB script; /parse is
// mvdan.cc/sh's parse of it alone, the floor of the approach.
func BenchmarkClassifyBigScript(b *testing.B) {
	s := bigScript(1 << 20)
	c, _ := NewClassifier(Rules{Allowlist: []string{"git push"}})
	b.Run("classify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Classify(s)
		}
	})
	// check's case: no key, as `hermes-exec check` classifies.
	b.Run("nokey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.ClassifyNoKey(s)
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseScript(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	// parseLarge: the parse in parts on several cores (parsesplit.go).
	b.Run("parse-split", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseLarge(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
