package sandbox

import (
	"context"
	"os"
	"testing"

	"hermes-exec/isolate"
)

// Start-to-exit cost of `true` through the package API (no CLI). The CLI
// figures beside runc and bwrap come from bench/sandbox/run.sh (ratios) and
// bench/sandbox/hyperfine.sh (the earlier table).
func benchRun(b *testing.B, persist, session string) {
	requireRoot(b)
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	o := Options{StateDir: b.TempDir(), Workspace: b.TempDir(), Persist: persist, HermesHome: b.TempDir()}
	be, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = Remove(o, session) }()
	spec := isolate.Spec{Args: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Stdin: devnull, Stdout: devnull, Stderr: devnull, Session: session}
	if session != "" { // make the container outside the timed loop
		if _, err := be.Run(context.Background(), spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := be.Run(context.Background(), spec)
		if err != nil || st.Code != 0 {
			b.Fatalf("run: %+v %v", st, err)
		}
	}
}

func BenchmarkFresh(b *testing.B)       { benchRun(b, "none", "") }
func BenchmarkSessionExec(b *testing.B) { benchRun(b, "session", "bench") }

// BenchmarkNew is what every wrapper pays before its command: checking the
// options, building the container template (seccomp profile included) and
// looking for leftovers.
func BenchmarkNew(b *testing.B) {
	o := Options{StateDir: b.TempDir(), Workspace: b.TempDir(), HermesHome: b.TempDir()}
	for i := 0; i < b.N; i++ {
		if _, err := New(o); err != nil {
			b.Fatal(err)
		}
	}
}
