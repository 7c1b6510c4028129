package childwait

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// start forks sh -c script, with a pidfd when withPidfd.
func start(t *testing.T, script string, withPidfd bool) (pid, pidfd int) {
	t.Helper()
	pidfd = -1
	sys := &syscall.SysProcAttr{}
	if withPidfd {
		sys.PidFD = &pidfd
	}
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", script}, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   sys,
	})
	if err != nil {
		t.Fatal(err)
	}
	if withPidfd && pidfd < 0 {
		t.Fatal("no pidfd from the fork (this kernel has CLONE_PIDFD)")
	}
	return pid, pidfd
}

// state is the process's state letter from /proc/PID/stat.
func state(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

// Ended returns only once the child has ended, and leaves it unreaped (a
// zombie whose pid is still its own) until the caller reaps it, with and
// without a pidfd.
func TestEndedWaitsAndLeavesTheChildUnreaped(t *testing.T) {
	for _, withPidfd := range []bool{true, false} {
		pid, pidfd := start(t, "sleep 0.2; exit 7", withPidfd)
		began := time.Now()
		if err := Ended(pid, pidfd); err != nil {
			t.Fatalf("pidfd=%v: %v", withPidfd, err)
		}
		if waited := time.Since(began); waited < 150*time.Millisecond {
			t.Errorf("pidfd=%v: returned after %v, before the child ended", withPidfd, waited)
		}
		if st := state(t, pid); st != "Z" {
			t.Errorf("pidfd=%v: child in state %s after Ended, want Z (ended, not reaped)", withPidfd, st)
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 7 {
			t.Errorf("pidfd=%v: reaping: %v, status %d, want 7", withPidfd, err, ws.ExitStatus())
		}
		if withPidfd {
			if _, err := unix.FcntlInt(uintptr(pidfd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
				t.Errorf("the pidfd is still open after Ended (%v)", err)
			}
		}
	}
}

// A child killed while waited for ends the wait too.
func TestEndedSeesAKilledChild(t *testing.T) {
	pid, pidfd := start(t, "exec sleep 30", true)
	go func() {
		time.Sleep(50 * time.Millisecond)
		syscall.Kill(pid, syscall.SIGKILL)
	}()
	if err := Ended(pid, pidfd); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("reaping: %v, %v; want killed by SIGKILL", err, ws)
	}
}

// A child that someone else reaped is an error (its status is lost), not a
// wait forever.
func TestEndedReportsAChildReapedElsewhere(t *testing.T) {
	for _, withPidfd := range []bool{true, false} {
		pid, pidfd := start(t, "exit 0", withPidfd)
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- Ended(pid, pidfd) }()
		select {
		case err := <-done:
			if !errors.Is(err, unix.ECHILD) {
				t.Errorf("pidfd=%v: Ended of a reaped child: %v, want ECHILD", withPidfd, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("pidfd=%v: Ended still waiting for a child reaped elsewhere", withPidfd)
		}
	}
}

// With a pidfd the wait goes through the poller, not waitid on the
// thread (the point of the package): polled must not give up on it.
func TestPidfdIsWaitedForThroughThePoller(t *testing.T) {
	pid, pidfd := start(t, "sleep 0.05", true)
	done, err := polled(pid, pidfd)
	if !done || err != nil {
		t.Fatalf("polled = %v, %v; want the wait done through the poller", done, err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
}
