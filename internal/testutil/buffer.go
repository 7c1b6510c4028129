package testutil

import (
	"bytes"
	"sync"
)

// Buffer collects what a process or goroutine writes while the test reads
// it (a pseudo-terminal's screen, a daemon's log). Its zero value is ready
// to use; Write and String may be called from different goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
