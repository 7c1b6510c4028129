// Package ptytest gives tests a stand-in for the user's terminal: a
// pseudo-terminal pair whose slave is handed to the code under test as its
// stdin/stdout, and whose master plays the user, typing keys and collecting
// what appears on the screen. CI has no controlling terminal, so this is how
// terminal behaviour is tested there.
package ptytest

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/pty"
)

// Terminal is a fake user terminal.
type Terminal struct {
	// Slave is the terminal the code under test uses.
	Slave *os.File
	// Master is the user's side: bytes written to it are typed keys.
	Master *os.File

	mu      sync.Mutex
	screen  bytes.Buffer
	changed chan struct{} // closed and replaced on every new output
	done    chan struct{}
}

// New opens a terminal of rows x cols and starts collecting its output. It
// is closed when the test ends.
func New(tb testing.TB, rows, cols uint16) *Terminal {
	tb.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		tb.Fatalf("open pty: %v", err)
	}
	t := &Terminal{Slave: slave, Master: master, changed: make(chan struct{}), done: make(chan struct{})}
	t.Resize(tb, rows, cols)
	go t.collect()
	tb.Cleanup(func() {
		slave.Close()
		master.Close()
		<-t.done
	})
	return t
}

func (t *Terminal) collect() {
	defer close(t.done)
	buf := make([]byte, 64*1024)
	for {
		n, err := t.Master.Read(buf)
		t.mu.Lock()
		t.screen.Write(buf[:n])
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Output returns everything written to the terminal so far.
func (t *Terminal) Output() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.screen.String()
}

// WaitFor waits until the output contains s, failing the test after
// timeout.
func (t *Terminal) WaitFor(tb testing.TB, s string, timeout time.Duration) {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		t.mu.Lock()
		has, changed := strings.Contains(t.screen.String(), s), t.changed
		t.mu.Unlock()
		if has {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			out := t.Output()
			if len(out) > 400 {
				out = "..." + out[len(out)-400:]
			}
			tb.Fatalf("terminal never showed %q; it shows %q", s, out)
		}
	}
}

// Type sends keys as if the user typed them.
func (t *Terminal) Type(tb testing.TB, keys string) {
	tb.Helper()
	if _, err := t.Master.Write([]byte(keys)); err != nil {
		tb.Fatalf("type %q: %v", keys, err)
	}
}

// Resize changes the terminal's size, as a terminal emulator does when its
// window is resized (without the SIGWINCH, which only a controlling
// terminal's foreground group would get).
func (t *Terminal) Resize(tb testing.TB, rows, cols uint16) {
	tb.Helper()
	ws := &unix.Winsize{Row: rows, Col: cols}
	if err := control(t.Master, func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) }); err != nil {
		tb.Fatalf("resize: %v", err)
	}
}

// Termios returns the terminal's current settings.
func (t *Terminal) Termios(tb testing.TB) unix.Termios {
	tb.Helper()
	var tio *unix.Termios
	err := control(t.Slave, func(fd int) (err error) {
		tio, err = unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	})
	if err != nil {
		tb.Fatalf("get termios: %v", err)
	}
	return *tio
}

// SetTermios changes the terminal's settings, as a shell does when it
// takes the terminal back from a stopped job.
func (t *Terminal) SetTermios(tb testing.TB, tio unix.Termios) {
	tb.Helper()
	if err := control(t.Slave, func(fd int) error { return unix.IoctlSetTermios(fd, unix.TCSETS, &tio) }); err != nil {
		tb.Fatalf("set termios: %v", err)
	}
}

// control runs fn on f's descriptor without Fd's switch to blocking mode
// (which would keep Close from interrupting the collecting Read).
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
