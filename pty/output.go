package pty

import (
	"os"
	"sync/atomic"
	"time"
)

const (
	// drainSilence is how long the output may pause, once the command
	// has exited, before the rest is given up: long enough for output
	// already in flight from a dying process tree, short enough that a
	// background process that keeps the terminal open does not hold the
	// wrapper.
	drainSilence = 150 * time.Millisecond
	// drainLimit caps the drain when a leftover process writes without
	// pausing.
	drainLimit = time.Second
)

// outputPump copies the command's output from the pty master to out.
type outputPump struct {
	master *os.File
	// drainUntil is zero while the command runs; afterwards it holds the
	// UnixNano time after which the pump gives up.
	drainUntil atomic.Int64
	done       chan struct{}
}

func startOutput(master, out *os.File) *outputPump {
	p := &outputPump{master: master, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.loop(out)
	}()
	return p
}

func (p *outputPump) loop(out *os.File) {
	buf := make([]byte, 32*1024)
	outOK := true
	for {
		if until := p.drainUntil.Load(); until != 0 {
			now := time.Now()
			if now.UnixNano() >= until {
				return
			}
			_ = p.master.SetReadDeadline(minTime(now.Add(drainSilence), time.Unix(0, until)))
		}
		n, err := p.master.Read(buf)
		if n > 0 && outOK {
			if _, werr := out.Write(buf[:n]); werr != nil {
				// The caller's terminal is gone. Keep reading so the
				// command never blocks on a full pty, but drop it.
				outOK = false
			}
		}
		if err != nil {
			// EIO: every slave descriptor is closed, the usual end
			// (Linux returns what was buffered first). A deadline
			// means the drain ran out of time or of output.
			return
		}
	}
}

// drain tells the pump the command has exited and waits until the output
// has ended (every holder of the terminal closed it), paused for
// drainSilence, or drainLimit has passed.
func (p *outputPump) drain() {
	now := time.Now()
	p.drainUntil.Store(now.Add(drainLimit).UnixNano())
	// Cut short a read that started before drainUntil was set.
	_ = p.master.SetReadDeadline(now.Add(drainSilence))
	<-p.done
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
