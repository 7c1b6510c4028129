package execcheck

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"hermes-exec/policy"
)

// maxChain bounds the walk up the process tree.
const maxChain = 64

// procStat returns the parent pid from /proc/PID/stat. The command name
// (field 2) may hold spaces and parentheses, so fields are counted from
// the last ')'.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

// tgidOf returns the thread group (process) id of a task id: seccomp
// reports the thread that made the call.
func tgidOf(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// cmdline is /proc/PID/cmdline as shell words, bounded.
func cmdline(pid int) string {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, _ := f.Read(b)
	b = bytes.TrimRight(b[:n], "\x00")
	if len(b) == 0 {
		return ""
	}
	s := policy.QuoteArgv(strings.Split(string(b), "\x00"))
	if n == len(b) && n == 4096 {
		s += " ..."
	}
	return s
}

// parents lists the command lines of the processes that led to tid's exec,
// outermost first, ending with tid's own (the program it is replacing).
// The walk stops at root (the command the wrapper started, included) or at
// a stop (the wrapper itself, a container's init: excluded). Consecutive equal lines (a shell
// and the copy of it that fork made) are shown once.
func parents(tid, root int, stop func(int) bool) []string {
	var out []string
	pid := tid
	for i := 0; i < maxChain && pid > 1 && !stop(pid); i++ {
		if c := cmdline(pid); c != "" && (len(out) == 0 || out[len(out)-1] != c) {
			out = append(out, c)
		}
		if pid == root {
			break
		}
		pp, ok := parentOf(pid)
		if !ok {
			break
		}
		pid = pp
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
