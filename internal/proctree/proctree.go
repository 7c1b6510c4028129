// Package proctree kills a command together with what it started: its
// descendants, and optionally every process of the session it leads. A
// command cancelled by a timeout must not leave a `sleep 1000 &` (or a
// server it started in the background) running.
package proctree

import (
	"errors"
	"os"
	"strconv"

	"hermes-exec/internal/procstat"

	"golang.org/x/sys/unix"
)

// maxPasses bounds the scans for new descendants: each pass stops what it
// found, and a stopped process forks no more, so a tree is complete after
// as many passes as it is deep; this is far past any real one.
const maxPasses = 64

// Kill sends SIGKILL to root, to every descendant of root, and, with
// session, to every process in the session root leads (which finds
// background jobs whose parent has already exited). root must be a child
// of the caller that has not been reaped yet (waitid WNOWAIT keeps it), so
// that its pid, and the session it leads, cannot be anyone else's.
//
// Killing root first would hand its children to init before they were
// found, so the tree is first stopped top-down (SIGSTOP, which cannot be
// caught), scanning /proc until a pass finds no new process, and only
// then killed. Each process found is held by a pidfd and checked to still
// be the child (or session member) it was found as after the pidfd was
// opened: a pid that was reused in between names another process, which
// is left alone. A process that left the tree before the scan (a daemon
// that double-forked out of a session of its own) is not found.
func Kill(root int, session bool) {
	held := map[int]int{root: -1} // pid -> pidfd; root is signalled by pid
	defer func() {
		for _, fd := range held {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	_ = unix.Kill(root, unix.SIGSTOP)
	for pass := 0; pass < maxPasses; pass++ {
		found := false
		for _, p := range scan() {
			if _, ok := held[p.pid]; ok || !belongs(p, held, root, session) {
				continue
			}
			fd, err := unix.PidfdOpen(p.pid, 0)
			if err != nil {
				if errors.Is(err, unix.ENOSYS) {
					// No pidfds (before Linux 5.3): signal by pid, the
					// check below narrowing the reuse window.
					fd = -1
				} else {
					continue // gone already
				}
			}
			// Whatever fd holds is the process that had p.pid when it
			// was opened; it is ours only if it still has the parent or
			// session it was found with.
			ppid, _, sid, ok := procstat.IDs(p.pid)
			if !ok || !belongs(proc{pid: p.pid, ppid: ppid, sid: sid}, held, root, session) {
				if fd >= 0 {
					unix.Close(fd)
				}
				continue
			}
			if !signal(p.pid, fd, unix.SIGSTOP) {
				if fd >= 0 {
					unix.Close(fd)
				}
				continue // it died: it holds nothing to find
			}
			held[p.pid] = fd
			found = true
		}
		if !found {
			break
		}
	}
	for pid, fd := range held {
		signal(pid, fd, unix.SIGKILL)
	}
}

func belongs(p proc, held map[int]int, root int, session bool) bool {
	if _, ok := held[p.ppid]; ok {
		return true
	}
	return session && p.sid == root
}

// signal sends sig through the pidfd when there is one (it cannot reach
// another process that got the same pid), and reports whether the process
// was still there.
func signal(pid, fd int, sig unix.Signal) bool {
	if fd >= 0 {
		return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
	}
	return unix.Kill(pid, sig) == nil
}

type proc struct{ pid, ppid, sid int }

// scan lists every process's parent and session. (/proc/PID/task/TID/
// children would be cheaper, but not every kernel has it; a cancel is
// rare.)
func scan() []proc {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	out := make([]proc, 0, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if ppid, _, sid, ok := procstat.IDs(pid); ok {
			out = append(out, proc{pid: pid, ppid: ppid, sid: sid})
		}
	}
	return out
}
