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
