package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/system"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"

	"hermes-exec/internal/hermeshome"
	"hermes-exec/isolate/ocispec"
	"hermes-exec/isolate/sandbox/spare"
)

// Info describes one sandbox container for `hermes-exec sandbox ls`.
type Info struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`              // "session" or "fresh"
	Session   string    `json:"session,omitempty"` // HERMES_SESSION_ID of a session container
	Workspace string    `json:"workspace"`
	Status    string    `json:"status"`   // libcontainer's: created, running, paused, stopped
	Pid       int       `json:"pid"`      // host pid of the container's init, 0 when stopped
	Created   time.Time `json:"created"`  // when the container was made
	LastUsed  time.Time `json:"lastUsed"` // when a command last started in it
	InUse     bool      `json:"inUse"`    // a command is running in it right now
}

// List describes the containers of o's HERMES_HOME in the state directory
// (root's state directory is shared by every HERMES_HOME: `sandbox ls` and
// `sandbox rm --all` of one must not show or remove another's), sessions
// first.
func List(o Options) ([]Info, error) {
	o, err := normalizeForManage(o)
	if err != nil {
		return nil, err
	}
	ids, err := containerIDs(o.StateDir)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(ids))
	for _, id := range ids {
		c, err := libcontainer.Load(o.StateDir, id)
		if err != nil {
			continue // removed meanwhile, or half-made: gc's business
		}
		if h, ok := utils.SearchLabels(c.Config().Labels, labelHome); ok && o.HermesHome != "" && h != o.HermesHome {
			continue
		}
		out = append(out, describe(o, c))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == kindSession
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out, nil
}

func describe(o Options, c *libcontainer.Container) Info {
	cfg := c.Config()
	in := Info{ID: c.ID(), Kind: kindFresh}
	if v, ok := utils.SearchLabels(cfg.Labels, labelKind); ok {
		in.Kind = v
	}
	in.Session, _ = utils.SearchLabels(cfg.Labels, labelSession)
	in.Workspace, _ = utils.SearchLabels(cfg.Labels, labelWorkspace)
	if st, err := c.Status(); err == nil {
		in.Status = st.String()
	}
	if s, err := c.State(); err == nil {
		in.Created = s.Created
		if in.Status != "stopped" {
			in.Pid = s.InitProcessPid
		}
	}
	if fi, err := os.Stat(lockPath(o.StateDir, c.ID())); err == nil {
		in.LastUsed = fi.ModTime()
	}
	if lk, err := acquireLock(o.StateDir, c.ID(), unix.LOCK_EX, true); err == nil {
		lk.Release(false)
	} else if errors.Is(err, errLocked) {
		in.InUse = true
	}
	return in
}

// Remove kills and removes the given containers, named by container id or
// by session id. Commands running in them are killed.
func Remove(o Options, ids ...string) error {
	o, err := normalizeForManage(o)
	if err != nil {
		return err
	}
	all, err := containerIDs(o.StateDir)
	if err != nil {
		return err
	}
	var errs []error
	for _, want := range ids {
		matched := false
		for _, id := range all {
			if id == want || sessionOf(o, id) == want {
				matched = true
				if err := removeOne(o, id); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", id, err))
				}
			}
		}
		if !matched {
			errs = append(errs, fmt.Errorf("%s: no such sandbox container", want))
		}
	}
	return errors.Join(errs...)
}

func sessionOf(o Options, id string) string {
	c, err := libcontainer.Load(o.StateDir, id)
	if err != nil {
		return ""
	}
	s, _ := utils.SearchLabels(c.Config().Labels, labelSession)
	return s
}

// removeOne kills the container first (its users release their locks when
// their commands die), then destroys it under the exclusive lock.
func removeOne(o Options, id string) error {
	if c, err := libcontainer.Load(o.StateDir, id); err == nil {
		_ = c.Signal(unix.SIGKILL)
	}
	lk, err := acquireLock(o.StateDir, id, unix.LOCK_EX, false)
	if err != nil {
		return err
	}
	c, err := libcontainer.Load(o.StateDir, id)
	if err != nil {
		lk.Release(true)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, libcontainer.ErrNotExist) {
			return nil // its wrapper removed it meanwhile
		}
		return err
	}
	err = destroy(o.StateDir, c)
	lk.Release(err == nil)
	return err
}

// GC removes idle session containers and whatever dead wrappers left (fresh
// containers whose wrapper is gone, stopped sessions, stray lock files and
// cgroups). It returns the ids it removed.
func GC(o Options) (removed []string, err error) {
	o, err = normalizeForManage(o)
	if err != nil {
		return nil, err
	}
	return gc(o, true)
}

// gc is GC. Every backend start runs it with sweepCgroups false, which
// costs one directory read when there is nothing to collect.
func gc(o Options, sweepCgroups bool) ([]string, error) {
	entries, err := os.ReadDir(o.StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	collectOrphanedCommands(o.StateDir)
	marked := readyMarkers(o.StateDir, entries)
	var removed []string
	var errs []error
	known := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		id, isLock := strings.CutSuffix(name, ".lock")
		if !isLock {
			if e.IsDir() {
				known[name] = true
			}
			continue
		}
		if !isContainerID(id) {
			continue
		}
		ok, err := collect(o, id, marked)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
		if ok {
			removed = append(removed, id)
			delete(known, id)
		}
	}
	// A state dir without a lock file cannot be in use (every user holds
	// the lock), so it is collected through the same path.
	for id := range known {
		if isContainerID(id) {
			if _, err := os.Stat(lockPath(o.StateDir, id)); errors.Is(err, os.ErrNotExist) {
				if ok, err := collect(o, id, marked); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", id, err))
				} else if ok {
					removed = append(removed, id)
				}
			}
		}
	}
	if sweepCgroups {
		sweepWorkspaceLocks(o.StateDir, entries)
	}
	if sweepCgroups && os.Geteuid() == 0 {
		removed = append(removed, sweepStrayCgroups(o.StateDir)...)
	}
	return removed, errors.Join(errs...)
}

// readyMarkers are the spares of stateDir recorded as ready (by id); a
// marker whose container is gone is removed.
func readyMarkers(stateDir string, entries []os.DirEntry) map[string]bool {
	marked := map[string]bool{}
	for _, e := range entries {
		if !spare.IsMarker(e.Name()) {
			continue
		}
		p := filepath.Join(stateDir, e.Name())
		m, err := spare.ReadMarker(p)
		if err == nil {
			if _, err := os.Stat(filepath.Join(stateDir, m.ID)); err == nil {
				marked[m.ID] = true
				continue
			}
		}
		// Taken meanwhile is fine: then the rename made it fail.
		_ = os.Remove(p)
	}
	return marked
}

// collect removes container id if nobody uses it and it is leftover or
// idle. A spare is kept while it is ready (marked) and its reaper lives.
func collect(o Options, id string, marked map[string]bool) (bool, error) {
	lk, err := acquireLock(o.StateDir, id, unix.LOCK_EX, true)
	if errors.Is(err, errLocked) {
		return false, nil // in use
	}
	if err != nil {
		return false, err
	}
	fi, statErr := lk.File().Stat()
	live := strings.HasPrefix(id, sessionPrefix) || (strings.HasPrefix(id, sparePrefix) && marked[id])
	if statErr == nil && live && sessionLive(o, id, fi.ModTime()) {
		lk.Release(false)
		return false, nil
	}
	c, err := libcontainer.Load(o.StateDir, id)
	if err != nil {
		// No (readable) state: a wrapper died before or while
		// creating it, or it is already gone. Clear what is there.
		_ = os.RemoveAll(filepath.Join(o.StateDir, id))
		removeCgroups(o.StateDir, id)
		lk.Release(true)
		return true, nil
	}
	status, _ := c.Status()
	idle := statErr == nil && time.Since(fi.ModTime()) > idleLimit(o, c.Config().Labels)
	// A fresh container whose lock is free has lost its wrapper; a spare
	// here was taken (or never finished), or has outlived its idle time.
	leftover := strings.HasPrefix(id, freshPrefix) || strings.HasPrefix(id, sparePrefix) || status == libcontainer.Stopped
	if !leftover && !idle {
		lk.Release(false)
		return false, nil
	}
	err = destroy(o.StateDir, c)
	lk.Release(err == nil)
	return err == nil, err
}

// idleLimit is how long a session container with labels may stay unused:
// each session expires after its own idle time, the one of the HERMES_HOME
// that made it; another home's shorter one must not cut it short (they
// share root's state directory).
func idleLimit(o Options, labels []string) time.Duration {
	if v, ok := utils.SearchLabels(labels, labelIdle); ok {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	return o.Idle
}

// sessionLive reports, without loading the whole container state, what
// collect would conclude from it for the session container id whose lock
// was last touched at used: true when it is neither idle nor stopped, so
// there is nothing to collect. Every backend start collects, and decoding
// each session's state (its whole config, seccomp profile included, ~35
// KiB of JSON) cost each start a few milliseconds with a handful of
// sessions. Only the fields collect needs are decoded; the init process
// counts as running exactly as libcontainer counts it (same pid, same start
// time, not a zombie). Anything unreadable answers false: the full path
// decides.
func sessionLive(o Options, id string, used time.Time) bool {
	b, err := os.ReadFile(filepath.Join(o.StateDir, id, "state.json"))
	if err != nil {
		return false
	}
	var st struct {
		Pid    int    `json:"init_process_pid"`
		Start  uint64 `json:"init_process_start"`
		Config struct {
			Labels []string `json:"labels"`
		} `json:"config"`
	}
	if json.Unmarshal(b, &st) != nil || st.Pid <= 0 {
		return false
	}
	if time.Since(used) > idleLimit(o, st.Config.Labels) {
		return false
	}
	ps, err := system.Stat(st.Pid)
	return err == nil && ps.StartTime == st.Start && ps.State != system.Zombie && ps.State != system.Dead
}

// destroy kills whatever still runs in c and removes its cgroups and state.
func destroy(stateDir string, c *libcontainer.Container) error {
	if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
		if st == libcontainer.Paused {
			_ = c.Resume()
		}
		_ = c.Signal(unix.SIGKILL)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if st, err := c.Status(); err != nil || st == libcontainer.Stopped {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	cfg := c.Config()
	ws, _ := utils.SearchLabels(cfg.Labels, labelWorkspace)
	wl, err := lockWorkspace(stateDir, ws)
	if err != nil {
		return err
	}
	if err := c.Destroy(); err != nil {
		wl.Release(false)
		return err
	}
	forgetCgroup(stateDir, c.ID())
	wl.Release(releaseWorkspace(stateDir, c.ID(), cfg))
	return nil
}

// workspaceInUse reports whether another container of stateDir shares
// cfg's workspace: a placeholder removed on the host under it would take
// its mount (and the protection) away. Each container of a workspace is
// recorded by an empty file in the workspace's users directory (made by
// create, removed by destroy), which is cheaper to read than every
// container's state; an entry whose container state is gone does not count.
func workspaceInUse(stateDir, self string, cfg configs.Config) bool {
	ws, _ := utils.SearchLabels(cfg.Labels, labelWorkspace)
	entries, _ := os.ReadDir(workspaceUsers(stateDir, ws))
	for _, e := range entries {
		if e.Name() == self {
			continue
		}
		if _, err := os.Stat(filepath.Join(stateDir, e.Name())); err == nil {
			return true
		}
	}
	return false
}

// workspaceUsers is the directory that records ws's containers.
func workspaceUsers(stateDir, ws string) string { return spare.WorkspaceUsers(stateDir, ws) }

// containerIDs lists the container state directories.
func containerIDs(stateDir string) ([]string, error) {
	entries, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && isContainerID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// normalizeForManage fills in the defaults ls, rm and gc need, without the
// checks that only matter for running commands (the caller's cwd need not be
// a valid workspace to list containers).
func normalizeForManage(o Options) (Options, error) {
	if o.StateDir == "" {
		if o.HermesHome == "" {
			o.HermesHome = hermeshome.Resolve(os.Getenv, ocispec.UserHome(os.Getuid()))
		}
		o.StateDir = DefaultStateDir(o.HermesHome)
	}
	if o.Idle == 0 {
		o.Idle = defaultIdle
	}
	if o.Idle < 0 {
		return o, fmt.Errorf("container.idle: %s is negative", o.Idle)
	}
	return o, nil
}
