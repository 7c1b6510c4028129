package sandbox

import (
	"os"
	"path/filepath"
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
func removeCgroups(id string) {
	for _, r := range cgroupRoots() {
		killCgroup(filepath.Join(r, id))
	}
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

// sweepStrayCgroups removes empty sandbox cgroups that have neither
// container state nor a lock file left (what a wrapper killed in the middle
// of destroying left behind) and returns their ids. It kills nothing: a
// cgroup with processes and no lock file here may belong to another state
// directory or runtime (the lock file is what marks a container as this
// directory's; collect kills what runs in one whose state alone is gone).
func sweepStrayCgroups(stateDir string) []string {
	seen := map[string]bool{}
	var ids []string
	for _, r := range cgroupRoots() {
		entries, err := os.ReadDir(r)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			id := e.Name()
			if !strings.HasPrefix(id, freshPrefix) && !strings.HasPrefix(id, sessionPrefix) {
				continue
			}
			if _, err := os.Stat(filepath.Join(stateDir, id)); os.IsNotExist(err) {
				if _, err := os.Stat(lockPath(stateDir, id)); os.IsNotExist(err) {
					if unix.Rmdir(filepath.Join(r, id)) == nil && !seen[id] {
						seen[id] = true
						ids = append(ids, id)
					}
				}
			}
		}
	}
	return ids
}
