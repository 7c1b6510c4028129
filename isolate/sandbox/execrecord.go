package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// An exec record stands for one command running in a session container:
// StateDir/ID.PID.exec, locked by its wrapper for as long as the command
// runs and holding the command's host pid and start time. A wrapper killed
// with SIGKILL cannot stop its command, but its lock goes with it, so the
// next start (gc) finds an unlocked record and kills what it names: the
// command and its process group (the command is a session leader).
type execRecord struct {
	f    *os.File
	path string
}

const execSuffix = ".exec"

// newExecRecord creates and locks a record before the command starts, so
// that a wrapper dying right after the start still leaves a trace.
func newExecRecord(stateDir, id string) (*execRecord, error) {
	f, err := os.CreateTemp(stateDir, id+".*"+execSuffix)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &execRecord{f: f, path: f.Name()}, nil
}

// started notes the command's host pid.
func (r *execRecord) started(pid int) {
	if st, ok := startTime(pid); ok {
		fmt.Fprintf(r.f, "%d %d\n", pid, st)
	}
}

// done removes the record: the command ended under its wrapper's eyes.
func (r *execRecord) done() {
	os.Remove(r.path)
	r.f.Close()
}

// collectOrphanedCommands kills the commands of dead wrappers.
func collectOrphanedCommands(stateDir string) {
	paths, _ := filepath.Glob(filepath.Join(stateDir, "*"+execSuffix))
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close()
			continue // its wrapper is alive
		}
		b, _ := os.ReadFile(p)
		var pid int
		var st uint64
		if _, err := fmt.Sscan(string(b), &pid, &st); err == nil && pid > 0 {
			// The start time guards against a recycled pid.
			if now, ok := startTime(pid); ok && now == st {
				_ = unix.Kill(-pid, unix.SIGKILL)
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		os.Remove(p)
		f.Close()
	}
}

// startTime is field 22 of /proc/PID/stat (clock ticks since boot).
func startTime(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:]) // /proc/PID/stat is space-separated numbers after the name
	if len(fields) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	return v, err == nil
}
