package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// gc's sweep removes only the empty cgroups its own state directory made
// and lost track of: not the cgroup of another state directory's
// container that is just starting (made, nothing in it yet, no state or
// lock in this directory), not one made moments ago, and not one it has
// no record of.
func TestGCSweepsOnlyItsOwnStrayCgroups(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "none")
	other := testOptions(t, "none") // another state directory
	mk := func(id string) {
		t.Helper()
		for _, r := range cgroupRoots() {
			if err := os.MkdirAll(filepath.Join(r, id), 0o755); err != nil {
				t.Fatalf("making a cgroup: %v", err)
			}
		}
		t.Cleanup(func() {
			for _, r := range cgroupRoots() {
				os.Remove(filepath.Join(r, id))
			}
		})
	}
	record := func(stateDir, id string, age time.Duration) {
		t.Helper()
		if err := recordCgroup(stateDir, id); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(cgroupRecord(stateDir, id), old, old); err != nil {
			t.Fatal(err)
		}
	}
	mine := freshPrefix + randomHex(8)       // ours, lost: state and lock gone
	young := freshPrefix + randomHex(8)      // ours, but recorded a moment ago
	starting := freshPrefix + randomHex(8)   // the other directory's, being made
	unrecorded := freshPrefix + randomHex(8) // nobody's record: not ours to judge
	for _, id := range []string{mine, young, starting, unrecorded} {
		mk(id)
	}
	record(o.StateDir, mine, time.Hour)
	record(o.StateDir, young, 0)
	record(other.StateDir, starting, time.Hour)
	lk, err := acquireLock(other.StateDir, starting, unix.LOCK_EX, false)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release(true)

	removed, err := GC(o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, mine) {
		t.Errorf("gc did not sweep its own stray cgroup: removed %v", removed)
	}
	if len(cgroupsOf(mine)) > 0 {
		t.Errorf("its own stray cgroup is still there: %v", cgroupsOf(mine))
	}
	if _, err := os.Stat(cgroupRecord(o.StateDir, mine)); !os.IsNotExist(err) {
		t.Errorf("the record of a swept cgroup stays: %v", err)
	}
	for what, id := range map[string]string{"another state directory's starting container": starting, "a cgroup recorded a moment ago": young, "a cgroup nobody recorded": unrecorded} {
		if slices.Contains(removed, id) || len(cgroupsOf(id)) == 0 {
			t.Errorf("gc removed %s (%s)", what, id)
		}
	}
}
