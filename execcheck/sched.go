package execcheck

import (
	"runtime"
	"sync"
	"time"
)

// The supervisor spends its life in two kinds of system calls: a long
// one (waiting for the next notification) and a few short ones per exec.
// Go's sysmon thread takes the processor (P) of a goroutine that sits in
// a system call when either
//   - the goroutine has not been through the scheduler for 10 ms (it is
//     then treated as a long-running one and its P is taken whatever it
//     is doing), or
//   - no other P is idle.
// A goroutine that only ever makes system calls never goes through the
// scheduler, so after its first 10 ms every wait lost its P: the wake-up
// then had to find an idle P and wake sysmon, sysmon woke another thread
// to look for work, and so on — measured at about seven thread switches
// and 60 µs of CPU per trapped exec (nanosleep and futex of the runtime),
// more than the check itself. Two things prevent it:

// yieldEvery is how often the serving goroutine passes through the
// scheduler (runtime.Gosched), well inside sysmon's 10 ms: a yield costs a
// wake-up of an idle thread, so not on every exec.
const yieldEvery = 5 * time.Millisecond

type yielder struct{ last time.Time }

// maybe yields when the last yield is older than yieldEvery.
func (y *yielder) maybe() {
	if now := time.Now(); now.Sub(y.last) >= yieldEvery {
		runtime.Gosched()
		y.last = time.Now()
	}
}

var (
	servingMu sync.Mutex
	serving   int
)

// reserveP keeps one P more than there are serving goroutines, so that
// one is idle while they all wait (and the command's own wait holds
// none): on a one-CPU machine GOMAXPROCS is 1 and the single P would be
// taken from every wait. GOMAXPROCS is only raised, never lowered; an
// idle P costs nothing. release undoes the count.
func reserveP() (release func()) {
	servingMu.Lock()
	serving++
	if runtime.GOMAXPROCS(0) < serving+1 {
		runtime.GOMAXPROCS(serving + 1)
	}
	servingMu.Unlock()
	return func() {
		servingMu.Lock()
		serving--
		servingMu.Unlock()
	}
}
