package sandbox

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// cgroupRoots are the directories that hold sandbox cgroups: cgroupParent in
// every mounted hierarchy (one per controller on cgroup v1).
func cgroupRoots() []string {
	if cgroups.IsCgroup2UnifiedMode() {
		return []string{filepath.Join("/sys/fs/cgroup", cgroupParent)}
	}
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	var roots []string
	for _, e := range entries {
		if e.IsDir() {
			roots = append(roots, filepath.Join("/sys/fs/cgroup", e.Name(), cgroupParent))
		}
	}
	return roots
}

// removeCgroups removes container id's cgroups in every hierarchy, killing
// what still runs in them first. The caller holds the container's lock
// exclusively and knows it has no state: whatever runs there is what a
// container whose state was deleted left (its reaper, its commands), and
// would otherwise make every new start fail ("cgroup is not empty").
func removeCgroups(stateDir, id string) {
	for _, r := range cgroupRoots() {
		killCgroup(filepath.Join(r, id))
	}
	forgetCgroup(stateDir, id)
}

// The cgroups a state directory made are recorded in its cgroups/
// directory, one empty file per container id, written before the
// container (and so its cgroup) is created and removed once no cgroup of
// that id is left. Every state directory's containers share cgroupParent,
// so a cgroup without state or lock in this directory may well be another
// state directory's container that is just starting (its cgroup made, no
// process in it yet); the record is what proves a cgroup this directory's
// own, and the sweep touches no other.
const cgroupLedgerDir = "cgroups"

// cgroupSweepGrace is how old a record must be before the sweep looks at
// its cgroup: a container being made holds its lock, and this is a second
// guard for the moments around taking and dropping it.
var cgroupSweepGrace = time.Minute

func cgroupRecord(stateDir, id string) string {
	return filepath.Join(stateDir, cgroupLedgerDir, id)
}

// recordCgroup records that this state directory makes container id's
// cgroups.
func recordCgroup(stateDir, id string) error {
	if err := os.MkdirAll(filepath.Join(stateDir, cgroupLedgerDir), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(cgroupRecord(stateDir, id), os.O_CREATE|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// A session's id comes back: its record's age is this container's.
	now := time.Now()
	return os.Chtimes(f.Name(), now, now)
}

// forgetCgroup drops the record of id once none of its cgroups is left.
func forgetCgroup(stateDir, id string) {
	for _, r := range cgroupRoots() {
		if _, err := os.Lstat(filepath.Join(r, id)); err == nil {
			return
		}
	}
	_ = os.Remove(cgroupRecord(stateDir, id))
}

// killCgroup kills every process in the cgroup directory dir, waits a
// little for them to go and removes it.
func killCgroup(dir string) {
	if _, err := os.Stat(dir); err != nil {
		return
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			break
		}
		pids := strings.Fields(string(b))
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid > 1 {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = unix.Rmdir(dir)
}

// sweepStrayCgroups removes the empty cgroups this state directory made
// (recordCgroup) whose container has neither state nor a lock file left
// (what a wrapper killed in the middle of destroying left behind), once
// their record is older than cgroupSweepGrace, and returns their ids. It
// kills nothing (rmdir of a cgroup with processes fails), and it leaves
// every cgroup it has no record of alone: another state directory's, or
// another runtime's.
func sweepStrayCgroups(stateDir string) []string {
	entries, err := os.ReadDir(filepath.Join(stateDir, cgroupLedgerDir))
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range entries {
		id := e.Name()
		if !isContainerID(id) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(stateDir, id)); !os.IsNotExist(err) {
			continue // it has state: collect judges it
		}
		if _, err := os.Lstat(lockPath(stateDir, id)); !os.IsNotExist(err) {
			continue // in use, or collect's to judge
		}
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < cgroupSweepGrace {
			continue
		}
		removed := false
		for _, r := range cgroupRoots() {
			if unix.Rmdir(filepath.Join(r, id)) == nil {
				removed = true
			}
		}
		forgetCgroup(stateDir, id)
		if removed {
			ids = append(ids, id)
		}
	}
	return ids
}

// primeCgroupJoin makes the container's cgroup join cheap. Moving a task
// into a cgroup takes the kernel's cgroup_threadgroup_rwsem for writing, and
// the first writer after a quiet spell waits for a whole RCU grace period
// (rcu_sync_enter; 10-15 ms on the machine this was measured on, the largest
// single part of a fresh container's start), while for about one grace
// period after a writer leaves the next ones pass at once. So the backend
// starts one such move itself, in the background, while the template, the
// state and the init process are made: a thread of its own, locked to the
// goroutine, is moved into the cgroup it is already in (/proc/thread-self/
// cgroup, one hierarchy), which changes nothing, and the thread ends with the
// goroutine (it is never unlocked). libcontainer's join then finds the grace
// period passed. A moved pid that does not exist would not do: the kernel
// looks the task up before it takes the lock. Nothing depends on it: when it
// cannot be done (rootless, a cgroup namespace whose root is not the mount's)
// the join pays the wait as before.
func primeCgroupJoin() {
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		f, err := os.OpenFile(ownTasksFile(), os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = f.WriteString(strconv.Itoa(unix.Gettid()) + "\n")
	}()
}

// ownTasksFile is the file that moves threads into the calling thread's own
// cgroup: in the first cgroup v1 hierarchy that is mounted where the path in
// /proc/thread-self/cgroup leads, or the unified hierarchy's cgroup.threads.
func ownTasksFile() string {
	b, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return ""
	}
	unified := cgroups.IsCgroup2UnifiedMode()
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrl, path := parts[1], parts[2]
		if unified {
			if ctrl == "" {
				return filepath.Join("/sys/fs/cgroup", path, "cgroup.threads")
			}
			continue
		}
		if ctrl == "" {
			continue // the v2 line of a hybrid machine
		}
		f := filepath.Join("/sys/fs/cgroup", strings.TrimPrefix(ctrl, "name="), path, "tasks")
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}
