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

	containerd "github.com/containerd/containerd/v2/client"
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
// (another user's, or another HERMES_HOME's, are not this caller's to touch).
func ours(ctx context.Context, cl *containerd.Client, o Options) ([]containerd.Container, error) {
	list, err := cl.Containers(ctx, fmt.Sprintf(`labels."%s"`, labelKind))
	if err != nil {
		return nil, fmt.Errorf("containerd: listing containers: %w", err)
	}
	var out []containerd.Container
	for _, c := range list {
		labels, err := c.Labels(ctx)
		if err == nil && labels[labelStateDir] == o.StateDir {
			out = append(out, c)
		}
	}
	return out, nil
}

// List describes this caller's containers, sessions first.
func List(ctx context.Context, cl *containerd.Client, o Options) ([]Info, error) {
	list, err := ours(ctx, cl, o)
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, c := range list {
		out = append(out, describe(ctx, c, o))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == kindSession
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func describe(ctx context.Context, c containerd.Container, o Options) Info {
	in := Info{ID: c.ID(), Status: "no task", Backend: "containerd"}
	if info, err := c.Info(ctx, containerd.WithoutRefreshedMetadata); err == nil {
		in.Kind = info.Labels[labelKind]
		in.Session = info.Labels[labelSession]
		in.Workspace = info.Labels[labelWorkspace]
		in.Created = info.CreatedAt
	}
	if t, err := c.Task(ctx, nil); err == nil {
		in.Pid = int(t.Pid())
		if st, err := t.Status(ctx); err == nil {
			in.Status = string(st.Status)
		}
	}
	if in.Status != string(containerd.Running) {
		in.Pid = 0
	}
	if fi, err := os.Stat(filepath.Join(o.StateDir, in.ID, "last-used")); err == nil {
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
// is gone (a SIGKILLed wrapper), sessions whose reaper exited (idle) or
// that were idle for longer than container.idle, and state directories
// without a container. idleToo also removes idle sessions that still run
// (gc); a command's start leaves those to their reaper. It returns the ids
// it removed.
func collect(ctx context.Context, cl *containerd.Client, o Options, idleToo bool) ([]string, error) {
	list, err := ours(ctx, cl, o)
	if err != nil {
		return nil, err
	}
	var removed []string
	known := map[string]bool{}
	for _, c := range list {
		in := describe(ctx, c, o)
		known[in.ID] = true
		if in.InUse {
			continue
		}
		// Not in use: a fresh container's helper locks its lifeline
		// before it makes the container and removes the container before
		// it lets go, so this one's helper is gone; a session's creator
		// holds the session lock, so a session not running is dead.
		dead := in.Kind == kindFresh || in.Status != string(containerd.Running)
		idle := in.Kind == kindSession && idleToo && time.Since(in.LastUsed) > o.Idle
		if !dead && !idle {
			continue
		}
		if !removeLocked(ctx, c, o) {
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
		if (strings.HasPrefix(id, "f-") || strings.HasPrefix(id, "s-")) && !known[id] && !inUse(o, Info{ID: id, Kind: kind}) {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 10*time.Second {
				_ = os.RemoveAll(filepath.Join(o.StateDir, e.Name()))
			}
		}
	}
	return removed, nil
}

// removeLocked removes c unless a helper took it in the meantime.
func removeLocked(ctx context.Context, c containerd.Container, o Options) bool {
	id := c.ID()
	lk, err := os.OpenFile(filepath.Join(o.StateDir, id+".lock"), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err == nil {
		defer lk.Close()
		if unix.Flock(int(lk.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			return false
		}
	}
	destroy(ctx, c)
	_ = os.RemoveAll(filepath.Join(o.StateDir, id))
	_ = os.Remove(filepath.Join(o.StateDir, id+".lock"))
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
		for _, c := range list {
			labels, _ := c.Labels(ctx)
			if c.ID() != want && labels[labelSession] != want {
				continue
			}
			matched = true
			destroy(ctx, c)
			if _, err := c.Info(ctx); err == nil {
				errs = append(errs, fmt.Errorf("%s: still there after removal", c.ID()))
			}
			_ = os.RemoveAll(filepath.Join(o.StateDir, c.ID()))
			_ = os.Remove(filepath.Join(o.StateDir, c.ID()+".lock"))
		}
		if !matched {
			unmatched = append(unmatched, want)
		}
	}
	return unmatched, errors.Join(errs...)
}
