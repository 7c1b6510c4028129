package policy

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"hermes-exec/internal/benchinput"
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

// bigScript is benchinput.BigScript: the text bench/hotpath.sh times too.
func bigScript(size int) string { return benchinput.BigScript(size) }

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
	// 80,000 `echo line N` (1.27 MB), with nothing to pad the lines out:
	// every statement is walked (issue 8's script).
	var echo strings.Builder
	for i := 0; i < 80000; i++ {
		fmt.Fprintf(&echo, "echo line %d\n", i)
	}
	b.Run("echo-lines", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(echo.Len()))
		for b.Loop() {
			c.ClassifyNoKey(echo.String())
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
	// 80,000 statements of one word each: the walk's cost per statement.
	echoes := benchinput.EchoLines(1 << 20)
	b.Run("echo-lines-nokey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.ClassifyNoKey(echoes)
		}
	})
	// The walk alone, of a tree parsed once: what check spends after (and
	// overlapped with) the parse, the part this package's own code costs.
	for _, in := range []struct{ name, text string }{{"walk", s}, {"echo-lines-walk", echoes}} {
		f, err := parseScript(in.text)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := newWalker(c, in.text, 0)
				w.file(f)
				w.verdict("")
			}
		})
	}
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
