package sandbox

import (
	"hermes-exec/internal/exitcode"

	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
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
		return isolate.Status{Code: exitcode.CannotExec, Reason: fmt.Sprintf("sandbox: lost the command: %v", err)}
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

// oomStatus explains an end caused by the memory limit (shared with the
// main binary's socket client).
func oomStatus(st isolate.Status, limit int64) isolate.Status { return execproto.OOMStatus(st, limit) }

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

func readCounter(path, name string) int64 { return execproto.ReadCounter(path, name) }
