package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"golang.org/x/sys/unix"
)

// Info describes one container, in the shape `sandbox ls` prints for the
// embedded sandbox's, plus the backend.
type Info struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Session   string    `json:"session,omitempty"`
	Workspace string    `json:"workspace"`
	Status    string    `json:"status"` // containerd's: created, running, stopped, or "no task"
	Pid       int       `json:"pid"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"lastUsed"`
	InUse     bool      `json:"inUse"`
	Backend   string    `json:"backend"`
}

// ours lists the containers hermes-exec made with this state directory
// and HERMES_HOME (another user's, or another HERMES_HOME's, are not this
// caller's to touch), in one round trip.
func ours(ctx context.Context, cl *containerd.Client, o Options) ([]containers.Container, error) {
	list, err := cl.ContainerService().List(ctx, fmt.Sprintf(`labels."%s"==%q,labels."%s"==%q`, labelStateDir, o.StateDir, labelHome, o.HermesHome))
	if err != nil {
		return nil, fmt.Errorf("containerd: listing containers: %w", err)
	}
	return list, nil
}

// taskList is every task in the namespace by container id, in one round
// trip.
func taskList(ctx context.Context, cl *containerd.Client) map[string]*tasktypes.Process {
	out := map[string]*tasktypes.Process{}
	resp, err := cl.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return out
	}
	for _, t := range resp.Tasks {
		out[t.ID] = t
	}
	return out
}

// List describes this caller's containers, sessions first.
func List(ctx context.Context, cl *containerd.Client, o Options) ([]Info, error) {
	list, err := ours(ctx, cl, o)
	if err != nil {
		return nil, err
	}
	procs := taskList(ctx, cl)
	var out []Info
	for _, c := range list {
		out = append(out, describe(c, procs, o))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == kindSession
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func describe(c containers.Container, procs map[string]*tasktypes.Process, o Options) Info {
	in := Info{
		ID: c.ID, Status: "no task", Backend: "containerd", Created: c.CreatedAt,
		Kind: c.Labels[labelKind], Session: c.Labels[labelSession], Workspace: c.Labels[labelWorkspace],
	}
	if t := procs[c.ID]; t != nil {
		in.Status = strings.TrimPrefix(strings.ToLower(t.Status.String()), "status_")
		if t.Status == tasktypes.Status_RUNNING {
			in.Pid = int(t.Pid)
		}
	}
	lastUsed := filepath.Join(o.StateDir, in.ID, "last-used")
	if in.Kind == kindAnchor {
		lastUsed = anchorLastUsed(o, in.ID)
	}
	if fi, err := os.Stat(lastUsed); err == nil {
		in.LastUsed = fi.ModTime()
	} else {
		in.LastUsed = in.Created
	}
	in.InUse = inUse(o, in)
	return in
}

// inUse: a fresh container's helper holds its lifeline; a session's
// helpers hold its lock shared while their commands run.
func inUse(o Options, in Info) bool {
	p := filepath.Join(o.StateDir, in.ID+".lock")
	if in.Kind == kindFresh {
		p = filepath.Join(o.StateDir, in.ID, "life", "init")
	}
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return true
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// collect removes what nobody uses any more: fresh containers whose helper
// is gone (a SIGKILLed wrapper), sessions and the anchor (anchor.go) whose
// init exited (idle) or that were idle for longer than container.idle,
// and state directories
// without a container. idleToo also removes idle sessions that still run
// (gc); a command's start leaves those to their reaper. It returns the ids
// it removed.
func collect(ctx context.Context, cl *containerd.Client, o Options, idleToo bool) ([]string, error) {
	// Every container of this state directory, whichever HERMES_HOME's:
	// the state directories of another's are not this caller's to sweep
	// (a session's exec socket, the anchor's last-used file), though only
	// this caller's own containers are collected.
	all, err := cl.ContainerService().List(ctx, fmt.Sprintf(`labels."%s"==%q`, labelStateDir, o.StateDir))
	if err != nil {
		return nil, fmt.Errorf("containerd: listing containers: %w", err)
	}
	var removed []string
	known := map[string]bool{}
	var procs map[string]*tasktypes.Process
	for _, c := range all {
		known[c.ID] = true
		if c.Labels[labelHome] != o.HermesHome {
			// An anchor serves nobody once its HERMES_HOME is gone (a
			// removed one, a test's): anyone collects it.
			if h := c.Labels[labelHome]; c.Labels[labelKind] == kindAnchor && filepath.IsAbs(h) {
				if _, err := os.Stat(h); errors.Is(err, os.ErrNotExist) && removeLocked(ctx, cl, c, o) {
					removed = append(removed, c.ID)
				}
			}
			continue
		}
		in := Info{ID: c.ID, Kind: c.Labels[labelKind]}
		if inUse(o, in) {
			continue // the common case, and no round trip to find it
		}
		if procs == nil {
			procs = taskList(ctx, cl)
		}
		in = describe(c, procs, o)
		// Not in use: a fresh container's helper locks its lifeline
		// before it makes the container and removes the container before
		// it lets go, so this one's helper is gone; a session's creator
		// holds the session lock, so a session not running is dead.
		dead := in.Kind == kindFresh || in.Status != "running"
		idle := (in.Kind == kindSession || in.Kind == kindAnchor) && idleToo && time.Since(in.LastUsed) > o.Idle
		if !dead && !idle {
			continue
		}
		if !removeLocked(ctx, cl, c, o) {
			continue
		}
		removed = append(removed, in.ID)
	}
	entries, _ := os.ReadDir(o.StateDir)
	for _, e := range entries {
		id := strings.TrimSuffix(e.Name(), ".lock")
		kind := kindSession
		if strings.HasPrefix(id, "f-") {
			kind = kindFresh
		}
		if (strings.HasPrefix(id, "f-") || strings.HasPrefix(id, "s-") || strings.HasPrefix(id, anchorPrefix)) && !known[id] && !inUse(o, Info{ID: id, Kind: kind}) {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 10*time.Second {
				_ = os.RemoveAll(filepath.Join(o.StateDir, e.Name()))
			}
		}
	}
	return removed, nil
}

// needsCollect reports whether the state directory shows anything collect
// would remove, without asking containerd: a fresh container's directory
// whose lifeline nobody holds (its helper is gone), or a session or anchor
// whose cgroup holds no process any more (its init exited). A command's start
// asks this first, so that the usual start, with nothing to collect, costs
// containerd no listing. It may say yes for nothing (collect then finds
// nothing); it does not see a container whose state directory was
// deleted, which `sandbox gc` finds.
func needsCollect(o Options) bool {
	entries, err := os.ReadDir(o.StateDir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		id := e.Name()
		switch {
		case !e.IsDir():
		case strings.HasPrefix(id, "f-"):
			if !inUse(o, Info{ID: id, Kind: kindFresh}) {
				return true
			}
		case strings.HasPrefix(id, "s-"), strings.HasPrefix(id, anchorPrefix):
			if !cgroupBusy(id) {
				return true
			}
		}
	}
	return false
}

// cgroupBusy reports whether container id's cgroup has a process in it.
func cgroupBusy(id string) bool {
	for _, dir := range []string{
		filepath.Join("/sys/fs/cgroup", cgroupParent, id),        // v2
		filepath.Join("/sys/fs/cgroup/pids", cgroupParent, id),   // v1
		filepath.Join("/sys/fs/cgroup/memory", cgroupParent, id), // v1 without pids
	} {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err == nil {
			return len(strings.TrimSpace(string(b))) > 0
		}
	}
	return false
}

// removeLocked removes container id unless a helper took it meanwhile.
func removeLocked(ctx context.Context, cl *containerd.Client, rec containers.Container, o Options) bool {
	id := rec.ID
	lk, err := os.OpenFile(filepath.Join(o.StateDir, id+".lock"), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err == nil {
		defer lk.Close()
		if unix.Flock(int(lk.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			return false
		}
	}
	if c, err := cl.LoadContainer(ctx, id); err == nil {
		destroy(ctx, c)
	}
	_ = os.RemoveAll(filepath.Join(o.StateDir, id))
	_ = os.Remove(filepath.Join(o.StateDir, id+".lock"))
	forgetWorkspace(o, rec.Labels[labelWorkspace], id)
	return true
}

// GC is `sandbox gc` for this backend.
func GC(ctx context.Context, cl *containerd.Client, o Options) ([]string, error) {
	return collect(ctx, cl, o, true)
}

// Remove kills and removes the containers named by id or session id. It
// returns the names that matched none, for the embedded sandbox to try.
func Remove(ctx context.Context, cl *containerd.Client, o Options, names ...string) (unmatched []string, err error) {
	list, err := ours(ctx, cl, o)
	if err != nil {
		return names, err
	}
	var errs []error
	for _, want := range names {
		matched := false
		for _, rec := range list {
			if rec.ID != want && rec.Labels[labelSession] != want {
				continue
			}
			matched = true
			c, err := cl.LoadContainer(ctx, rec.ID)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", rec.ID, err))
				continue
			}
			destroy(ctx, c)
			if _, err := cl.LoadContainer(ctx, rec.ID); err == nil {
				errs = append(errs, fmt.Errorf("%s: still there after removal", rec.ID))
			}
			_ = os.RemoveAll(filepath.Join(o.StateDir, rec.ID))
			_ = os.Remove(filepath.Join(o.StateDir, rec.ID+".lock"))
			forgetWorkspace(o, rec.Labels[labelWorkspace], rec.ID)
		}
		if !matched {
			unmatched = append(unmatched, want)
		}
	}
	return unmatched, errors.Join(errs...)
}
