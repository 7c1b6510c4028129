// Package phase marks the phases of one hermes-exec run for profiling the
// hot path: with HERMES_PHASES=1 in the environment, each Mark prints the
// time since the process started and since the previous mark on stderr.
// Without it a Mark is one load of a bool.
package phase

import (
	"fmt"
	"os"
	"time"
)

var (
	on    = os.Getenv("HERMES_PHASES") == "1"
	start = time.Now()
	last  = start
)

// Mark notes that the named phase has ended. Not for concurrent use: the
// hot path is one goroutine.
func Mark(name string) {
	if !on {
		return
	}
	now := time.Now()
	fmt.Fprintf(os.Stderr, "hermes-exec: phase %-16s %7.3f ms  +%.3f ms\n", name,
		float64(now.Sub(start).Microseconds())/1000, float64(now.Sub(last).Microseconds())/1000)
	last = now
}
