package pty

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The input pump waits in the runtime's poller (holding no P) for a
// terminal or a pipe, and in poll(2) for what epoll refuses, a regular
// file; either way stop ends it.
func TestInputPumpWaitsThroughThePoller(t *testing.T) {
	master, slave, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	file := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	regular, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	for _, tc := range []struct {
		name   string
		in     *os.File
		polled bool
	}{{"terminal", slave, true}, {"regular file", regular, false}} {
		wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			t.Fatal(err)
		}
		w, err := newEpollWaiter(int(tc.in.Fd()), wake)
		if (err == nil) != tc.polled {
			t.Fatalf("%s: newEpollWaiter: %v, want the poller used: %v", tc.name, err, tc.polled)
		}
		if w != nil {
			stopped := make(chan bool, 1)
			go func() {
				_, stop, err := w.wait()
				stopped <- stop && err == nil
			}()
			time.Sleep(20 * time.Millisecond)
			unix.Write(wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
			select {
			case ok := <-stopped:
				if !ok {
					t.Errorf("%s: the wait ended without seeing the stop", tc.name)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: the wait did not end when stopped", tc.name)
			}
			w.close()
		}
		unix.Close(wake)
	}
	// The caller's terminal is left in blocking mode: the flag is shared
	// with every program on it.
	if fl, err := unix.FcntlInt(slave.Fd(), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
		t.Errorf("the terminal's flags %#x (%v): O_NONBLOCK set", fl, err)
	}
}
