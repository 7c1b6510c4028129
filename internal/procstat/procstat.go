// Package procstat reads fields of /proc/PID/stat. A pid alone names a
// process only until it exits and the number is reused; the pid together
// with the process's start time names one process for good, which is what
// session ids and hook grants key on.
package procstat

import (
	"os"
	"strconv"
	"strings"
)

// StartTime is a process's start time (clock ticks since boot, field 22 of
// /proc/PID/stat), as the decimal text the kernel writes. ok is false when
// the process does not exist or its stat line cannot be read.
func StartTime(pid int) (start string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after it start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return "", false
	}
	return f[19], true
}

// IDs are a process's parent, process group and session (fields 4, 5
// and 6 of /proc/PID/stat); ok is false when it cannot be read.
func IDs(pid int) (ppid, pgid, sid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return 0, 0, 0, false
	}
	var v [3]int
	for k := range v {
		if v[k], err = strconv.Atoi(f[1+k]); err != nil {
			return 0, 0, 0, false
		}
	}
	return v[0], v[1], v[2], true
}
