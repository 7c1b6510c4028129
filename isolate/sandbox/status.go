package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker/go-units"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"

	"hermes-exec/isolate"
)

// statusOf converts how a process ended into bash's terms.
func statusOf(ps *os.ProcessState, err error) isolate.Status {
	if ps == nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ps = ee.ProcessState
		}
	}
	if ps == nil {
		return isolate.Status{Code: 126, Reason: fmt.Sprintf("sandbox: lost the command: %v", err)}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return isolate.Status{Code: ps.ExitCode()}
	}
	if ws.Signaled() {
		n := int(ws.Signal())
		return isolate.Status{Code: 128 + n, Signal: n}
	}
	return isolate.Status{Code: ws.ExitStatus()}
}

// oomStatus explains an end caused by the memory limit. A command killed by
// it exits 137 (SIGKILL) with a one-line reason; a command that outlived a
// killed child keeps its own status and gets the reason too.
func oomStatus(st isolate.Status, limit int64) isolate.Status {
	size := "unlimited"
	if limit > 0 {
		size = units.BytesSize(float64(limit))
	}
	if st.Signal == int(syscall.SIGKILL) || st.Code == 128+int(syscall.SIGKILL) {
		st.Reason = fmt.Sprintf("killed: out of memory (container.memory %s)", size)
		return st
	}
	st.Reason = fmt.Sprintf("a process was killed: out of memory (container.memory %s)", size)
	return st
}

// oomKills is how many processes the container's memory limit has killed so
// far (the kernel's oom_kill counter), 0 when unknown.
func oomKills(c *libcontainer.Container) int64 {
	st, err := c.State()
	if err != nil {
		return 0
	}
	// A rootless container has no cgroup: no path, and no counter (a
	// relative path would read the wrapper's working directory).
	if cgroups.IsCgroup2UnifiedMode() {
		if dir := st.CgroupPaths[""]; dir != "" {
			return readCounter(filepath.Join(dir, "memory.events"), "oom_kill")
		}
		return 0
	}
	if dir := st.CgroupPaths["memory"]; dir != "" {
		return readCounter(filepath.Join(dir, "memory.oom_control"), "oom_kill")
	}
	return 0
}

// readCounter reads "NAME VALUE" from a cgroup key-value file.
func readCounter(path, name string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == name {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
