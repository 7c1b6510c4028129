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

// cpuHandOver chooses, per direction, how the kernel hands the CPU between
// the trapped task and the supervisor (setSyncWakeUp).
//
// A notification is best handed over on the task's CPU: the task sleeps
// until it is answered, so the supervisor runs there at once, with no
// wake-up of another CPU.
//
// The answer is best not: woken on the supervisor's CPU, the answered task
// takes the CPU from the supervisor before the supervisor is back in its
// wait, and its exec then finds two runnable tasks on that CPU. execve
// balances (sched_exec): it moves the task to an idle CPU through the
// stopper thread, and the supervisor follows it at the next notification.
// Woken the ordinary way, the answered task goes to an idle CPU at once if
// there is one (no stopper, the supervisor not preempted), or waits for
// the supervisor to sleep. Measured on the 1,000-exec loop at load 3.5:
// 1.14x of checks off against 1.20x with the flag always on.
//
// So the flag is on while the supervisor waits and off while it answers:
// two SET_FLAGS calls an exec. An answer given later by a judgement's
// goroutine takes whichever state the flag is in; it is only a hint about
// where to run.
type cpuHandOver struct {
	fd     int
	usable bool // the kernel has the flag (Linux 6.6)
	on     bool
}

func newCPUHandOver(fd int) *cpuHandOver {
	h := &cpuHandOver{fd: fd}
	h.usable = setSyncWakeUp(fd, true) == nil
	h.on = h.usable
	return h
}

// waiting is called before the supervisor waits for a notification.
func (h *cpuHandOver) waiting() {
	if h.usable && !h.on && setSyncWakeUp(h.fd, true) == nil {
		h.on = true
	}
}

// answering is called before the supervisor answers what it received.
func (h *cpuHandOver) answering() {
	if h.usable && h.on && setSyncWakeUp(h.fd, false) == nil {
		h.on = false
	}
}
