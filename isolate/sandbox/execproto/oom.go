package execproto

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker/go-units"

	"hermes-exec/isolate"
)

// CgroupParent is where every sandbox cgroup lives, as an absolute path in
// each hierarchy; a root-mode container's cgroup is CgroupParent/ID.
const CgroupParent = "/hermes-exec"

// OOMStatus explains an end caused by the memory limit. A command killed by
// it exits 137 (SIGKILL) with a one-line reason; a command that outlived a
// killed child keeps its own status and gets the reason too.
func OOMStatus(st isolate.Status, limit int64) isolate.Status {
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

// OOMCounter is the file holding a root-mode container's oom_kill counter,
// found without libcontainer's state: CgroupParent/id in the unified
// hierarchy, or in the v1 memory hierarchy. ok is false when the file is not
// there (no such cgroup: the caller must not guess).
func OOMCounter(id string) (path string, ok bool) { return OOMCounterIn(CgroupParent, id) }

// OOMCounterIn is OOMCounter for containers whose cgroups are under parent
// (the containerd backend's are apart from the sandbox's).
func OOMCounterIn(parent, id string) (path string, ok bool) {
	path = filepath.Join("/sys/fs/cgroup", parent, id, "memory.events")
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		path = filepath.Join("/sys/fs/cgroup/memory", parent, id, "memory.oom_control")
	}
	if _, err := os.Stat(path); err != nil {
		return "", false
	}
	return path, true
}

// ReadCounter reads "NAME VALUE" from a cgroup key-value file; 0 when
// missing.
func ReadCounter(path, name string) int64 {
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
