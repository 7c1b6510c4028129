package sandbox

import (
	"os"
	"path/filepath"

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

// removeCgroups removes container id's cgroups in every hierarchy. rmdir
// fails on a cgroup that still has processes, so it never removes one in use.
func removeCgroups(id string) {
	for _, r := range cgroupRoots() {
		_ = unix.Rmdir(filepath.Join(r, id))
	}
}

// sweepStrayCgroups removes sandbox cgroups that have no container state
// left: what a wrapper killed in the middle of destroying left behind.
func sweepStrayCgroups(stateDir string) {
	for _, r := range cgroupRoots() {
		entries, err := os.ReadDir(r)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if _, err := os.Stat(filepath.Join(stateDir, e.Name())); os.IsNotExist(err) {
				if _, err := os.Stat(lockPath(stateDir, e.Name())); os.IsNotExist(err) {
					_ = unix.Rmdir(filepath.Join(r, e.Name()))
				}
			}
		}
	}
}
