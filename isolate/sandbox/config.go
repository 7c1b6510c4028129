package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	// Registers the device-rules manager; without it libcontainer refuses
	// to apply the device allow list.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runc/libcontainer/utils"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate/ocispec"
	"hermes-exec/isolate/sandbox/execproto"
	"hermes-exec/isolate/sandbox/spare"
)

// cgroupParent is where every sandbox cgroup lives, as an absolute path in
// each hierarchy (so it does not depend on the wrapper's own cgroup, which
// an agent's supervisor may move or limit).
const cgroupParent = execproto.CgroupParent

// Labels stored in each container's state, read back by List and GC.
const (
	labelKind      = "hermes.kind" // kindFresh or kindSession
	labelSession   = "hermes.session"
	labelWorkspace = "hermes.workspace"
	labelMemory    = "hermes.memory"
	labelIdle      = "hermes.idle"         // the session's own idle time, in seconds
	labelHome      = "hermes.home"         // the HERMES_HOME that made it
	labelHolders   = "hermes.placeholders" // protected-path placeholders to remove with it
	kindFresh      = "fresh"
	kindSession    = "session"
)

// template is the part of a container config that is the same for every
// container made with the same Options; per container only the cgroup path
// and the labels change.
type template struct {
	cfg *configs.Config
	// uid and gid are what libcontainer's processes run as inside the
	// container's user namespace (ocispec.InsideIDs).
	uid, gid int
	// owner is who the commands run for.
	owner ocispec.Owner
	// rootless: no cgroup is made (see forContainer).
	rootless bool
	// nested: commands run one user namespace deeper, as the owner
	// (ocispec.Config.Nested, userns.go).
	nested bool
	// placeholders are made before each container starts (ocispec.Protection).
	placeholders  []string
	protectMounts int
	workspace     string
	// spec is what cfg was made from (a spare's key, spare.KeyOf).
	spec *ocispec.Spec
}

// specConfig is the ocispec input for o (which has its defaults).
func specConfig(o Options) ocispec.Config { return spare.SpecConfig(o) }

// newTemplate turns Options into a libcontainer config: the spec ocispec
// builds, converted by specconv.
func newTemplate(o Options) (*template, error) {
	if !seccompBuilt {
		return nil, errors.New("this hermes-exec was built without seccomp support (build with CGO_ENABLED=1 -tags seccomp)")
	}
	sc := specConfig(o)
	if sc.Rootless && (sc.Owner.UID != os.Getuid() || sc.Owner.GID != os.Getgid()) {
		return nil, fmt.Errorf("a sandbox for uid %d needs root: this process (uid %d) can map only its own ids", sc.Owner.UID, os.Getuid())
	}
	spec, err := ocispec.Build(sc)
	if err != nil {
		return nil, err
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:      "placeholder",
		Spec:            spec.Spec,
		RootlessEUID:    sc.Rootless,
		RootlessCgroups: sc.Rootless,
		NoNewKeyring:    false,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox config: %w", err)
	}
	if sc.Rootless && o.Pids > 0 {
		// No cgroup to hold a pids limit (see ocispec.RootlessLimitsOK),
		// but the kernel counts RLIMIT_NPROC per user namespace and uid,
		// and every container has a user namespace of its own: the
		// limit then bounds the container's tasks as pids.max would, and
		// a command without CAP_SYS_RESOURCE cannot raise it. (It does
		// not bind root, so root keeps the cgroup.)
		n := uint64(o.Pids)
		cfg.Rlimits = []configs.Rlimit{{Type: unix.RLIMIT_NPROC, Hard: n, Soft: n}}
	}
	cfg.Labels = []string{
		labelWorkspace + "=" + o.Workspace,
		labelMemory + "=" + strconv.FormatInt(o.Memory, 10),
		labelIdle + "=" + strconv.FormatInt(int64(o.Idle.Seconds()), 10),
		labelHome + "=" + o.HermesHome,
	}
	return &template{cfg: cfg, uid: spec.UID, gid: spec.GID, owner: sc.Owner, rootless: sc.Rootless, nested: sc.Nested(),
		placeholders: spec.Placeholders, protectMounts: spec.ProtectMounts, workspace: o.Workspace, spec: spec}, nil
}

// forContainer returns a config for container id. The template is copied so
// concurrent containers never share the cgroup settings.
func (t *template) forContainer(id string, labels ...string) *configs.Config {
	cfg := *t.cfg
	cg := *t.cfg.Cgroups
	if cg.Resources != nil {
		r := *cg.Resources
		cg.Resources = &r
	}
	cg.Name = ""
	cg.Parent = ""
	cg.Path = cgroupParent + "/" + id
	if t.rootless {
		// A non-root caller cannot make cgroups here (cgroup v1 has
		// no delegation) and holds no limit that would need one
		// (ocispec.RootlessLimitsOK). libcontainer tolerates the
		// permission error only for a cgroup without an explicit path.
		cg.Path, cg.Parent, cg.Name = "", strings.TrimPrefix(cgroupParent, "/"), id
	}
	cfg.Cgroups = &cg
	cfg.Labels = append(append([]string(nil), t.cfg.Labels...), labels...)
	return &cfg
}

// create makes container id with labels and returns it with the template
// it was made from: under the workspace's lock, it
// checks that the protected paths are as the template found them (another
// container may have made or removed placeholders since: then the template
// is made again), creates the placeholders, and creates the container, so
// that no destroyer removes a placeholder between its creation and the
// container's state recording it.
func (b *backend) create(id string, prepare func(*configs.Config), labels ...string) (*libcontainer.Container, *template, error) {
	wl, err := lockWorkspace(b.o.StateDir, b.o.Workspace)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	// The lock file goes with the last container of the workspace.
	keep := true
	defer func() { wl.Release(!keep) }()
	t := b.tmpl
	dirs, files := ocispec.ProtectedList(specConfig(b.o))
	if p, err := ocispec.Protect(b.o.Workspace, dirs, files...); err != nil {
		return nil, nil, err
	} else if !reflect.DeepEqual(p.Placeholders, t.placeholders) || len(p.Mounts) != t.protectMounts {
		if t, err = newTemplate(b.o); err != nil {
			return nil, nil, err
		}
	}
	made, err := ocispec.MakePlaceholders(t.workspace, t.placeholders, t.owner.UID, t.owner.GID)
	if err != nil {
		ocispec.RemovePlaceholders(made)
		return nil, nil, fmt.Errorf("sandbox: protecting the workspace: %w", err)
	}
	cfg := t.forContainer(id, append(labels, labelHolders+"="+strings.Join(made, "\x1f"))...)
	if prepare != nil {
		prepare(cfg)
	}
	if !t.rootless {
		// Before the cgroup exists, so that gc can tell it from
		// another state directory's (sweepStrayCgroups).
		if err := recordCgroup(b.o.StateDir, id); err != nil {
			ocispec.RemovePlaceholders(made)
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	c, err := libcontainer.Create(b.o.StateDir, id, cfg)
	if err != nil {
		if !workspaceInUse(b.o.StateDir, id, *cfg) {
			ocispec.RemovePlaceholders(made)
			keep = false
		}
		return nil, nil, err
	}
	// The entry holds the placeholders this container made: the last
	// container of the workspace removes everyone's (another may have
	// made one this container found already there).
	users := workspaceUsers(b.o.StateDir, b.o.Workspace)
	if err := os.MkdirAll(users, 0o700); err == nil {
		_ = os.WriteFile(filepath.Join(users, id), []byte(strings.Join(made, "\n")), 0o600)
	}
	return c, t, nil
}

// lockWorkspace serialises making and removing a workspace's placeholders.
func lockWorkspace(stateDir, ws string) (*lock, error) {
	return acquireLock(stateDir, workspaceLockID(ws), unix.LOCK_EX, false)
}

const workspaceLockPrefix = spare.WorkspaceLockPrefix

func workspaceLockID(ws string) string { return spare.WorkspaceLockID(ws) }

// sweepWorkspaceLocks removes the workspace lock files (and users
// directories) that no container of stateDir refers to and nobody holds:
// what a container whose state was deleted left. `sandbox gc` runs it;
// every other removal goes through destroy.
func sweepWorkspaceLocks(stateDir string, entries []os.DirEntry) {
	any := false
	for _, e := range entries {
		any = any || strings.HasPrefix(e.Name(), workspaceLockPrefix)
	}
	if !any {
		return // the usual case: nothing to read
	}
	used := map[string]bool{}
	ids, _ := containerIDs(stateDir)
	for _, id := range ids {
		if c, err := libcontainer.Load(stateDir, id); err == nil {
			if ws, ok := utils.SearchLabels(c.Config().Labels, labelWorkspace); ok {
				used[workspaceLockID(ws)] = true
			}
		}
	}
	seen := map[string]bool{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".lock")
		if !ok {
			id, ok = strings.CutSuffix(e.Name(), ".users")
		}
		if !ok || !strings.HasPrefix(id, workspaceLockPrefix) || used[id] || seen[id] {
			continue
		}
		seen[id] = true
		if lk, err := acquireLock(stateDir, id, unix.LOCK_EX, true); err == nil {
			_ = os.RemoveAll(filepath.Join(stateDir, id+".users"))
			lk.Release(true)
		}
	}
}

// releaseWorkspace records that container self (config cfg) of stateDir
// is gone and, when it was the workspace's last, removes every placeholder
// the workspace's containers made (still-empty ones only) and its users
// directory, and reports true. While another container shares the
// workspace nothing is removed: a mount point removed on the host would
// take its mount away in that container. The caller holds the
// workspace's lock.
func releaseWorkspace(stateDir, self string, cfg configs.Config) bool {
	ws, _ := utils.SearchLabels(cfg.Labels, labelWorkspace)
	users := workspaceUsers(stateDir, ws)
	// self's entry stays until the last container goes: it holds the
	// placeholders self made (one whose state is gone no longer counts
	// as a user).
	if workspaceInUse(stateDir, self, cfg) {
		return false
	}
	var all []string
	if v, ok := utils.SearchLabels(cfg.Labels, labelHolders); ok && v != "" {
		all = strings.Split(v, "\x1f")
	}
	entries, _ := os.ReadDir(users)
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(users, e.Name())); err == nil && len(b) > 0 {
			all = append(all, strings.Split(string(b), "\n")...)
		}
	}
	// Parents before children: RemovePlaceholders goes deepest first.
	sort.Slice(all, func(i, j int) bool { return len(all[i]) < len(all[j]) })
	ocispec.RemovePlaceholders(all)
	_ = os.RemoveAll(users)
	return true
}
