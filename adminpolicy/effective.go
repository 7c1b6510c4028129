package adminpolicy

import (
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"time"

	"hermes-exec/internal/ident"
	"hermes-exec/policy/config"
)

// Effective is the policy for one user: the levels that apply, merged.
type Effective struct {
	Rules
	User    string
	Groups  []string // the user's groups the policy names
	Path    string
	Present bool
}

// ForUID loads the policy and returns the part for uid, with the user's
// name and groups from the user database.
func ForUID(uid int) (Effective, error) {
	pol, err := Load()
	if err != nil {
		return Effective{}, err
	}
	return pol.forUID(uid), nil
}

func (pol *Policy) forUID(uid int) Effective {
	if len(pol.Groups) == 0 {
		// For keeps only the groups the policy names, so with none
		// named the user's groups change nothing: the group database
		// (read twice by os/user) is not read for every command.
		return pol.For(ident.UserName(uid), nil)
	}
	name, groups := Identity(uid)
	return pol.For(name, groups)
}

// Identity is uid's login name and group names from the user database
// (never $USER); a uid the database does not know is "uid:N" with no
// groups, and gets the default level.
func Identity(uid int) (string, []string) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "uid:" + strconv.Itoa(uid), nil
	}
	var names []string
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if g, err := user.LookupGroupId(id); err == nil {
			names = append(names, g.Name)
		}
	}
	return u.Username, names
}

// ForbidsOff and ForbidsYolo report the approvals floor.
func (e Effective) ForbidsOff() bool  { return e.ForbidOff != nil && *e.ForbidOff }
func (e Effective) ForbidsYolo() bool { return e.ForbidYolo != nil && *e.ForbidYolo }

// AllowsBackend reports whether name may be used.
func (e Effective) AllowsBackend(name string) bool {
	return len(e.Backends) == 0 || contains(e.Backends, name)
}

// Backend is the backend to use. flag is --backend ("" when not given),
// configured is terminal.backend (host when config.yaml names none: the
// file's default cannot be told from a choice). A --backend the policy
// does not allow is an error, so the user learns why; a configured one is
// replaced by the policy's first backend (note says so), so that a
// config.yaml written before the policy keeps working, inside the policy.
func (e Effective) Backend(flag, configured string) (name, note string, err error) {
	if flag != "" {
		if !e.AllowsBackend(flag) {
			return "", "", fmt.Errorf("backend %q is not allowed by %s (allowed: %s)", flag, e.Path, strings.Join(e.Backends, ", "))
		}
		return flag, "", nil
	}
	if configured == "" {
		configured = config.BackendHost
	}
	if !e.AllowsBackend(configured) {
		return e.Backends[0], fmt.Sprintf("terminal.backend %s is not allowed by %s: using %s", configured, e.Path, e.Backends[0]), nil
	}
	return configured, "", nil
}

// Apply tightens the user's configuration to the policy: deny rules added,
// the approvals timeout capped, approvals.mode off ignored when forbidden,
// container limits capped (and set to the cap where the user set none). It
// returns one line per change the user should know of.
func (e Effective) Apply(c *config.Config) []string {
	var notes []string
	c.Approvals.Deny = append(c.Approvals.Deny, e.Deny...)
	if e.ForbidsOff() && c.Approvals.Mode == config.ModeOff {
		c.Approvals.Mode = config.ModeDefault
		notes = append(notes, "approvals.mode off is forbidden by "+e.Path+": asking instead")
	}
	if e.MaxTimeout > 0 {
		if c.Approvals.Timeout <= 0 || c.Approvals.Timeout > e.MaxTimeout {
			c.Approvals.Timeout = e.MaxTimeout
		}
		for k, d := range c.Approvals.Timeouts {
			if d <= 0 || d > e.MaxTimeout {
				c.Approvals.Timeouts[k] = e.MaxTimeout
			}
		}
	}
	capBytes := func(v *string, limit int64) {
		if limit <= 0 {
			return
		}
		if b, err := config.ParseBytes(*v); *v == "" || err != nil || b <= 0 || b > limit {
			*v = strconv.FormatInt(limit, 10)
		}
	}
	capBytes(&c.Container.Memory, e.MaxMemory)
	capBytes(&c.Container.TmpfsSize, e.MaxTmpfs)
	if e.MaxCPUs > 0 && (c.Container.CPUs <= 0 || c.Container.CPUs > e.MaxCPUs) {
		c.Container.CPUs = e.MaxCPUs
	}
	if e.MaxPids > 0 && (c.Container.Pids <= 0 || c.Container.Pids > e.MaxPids) {
		c.Container.Pids = e.MaxPids
	}
	return notes
}

// Limits caps a sandbox's requested limits (0 = the sandbox's default):
// what the supervisor applies, whatever the request says.
func (e Effective) Limits(memory int64, cpus float64, pids, tmpfs int64) (int64, float64, int64, int64) {
	capI := func(v, limit int64) int64 {
		if limit > 0 && (v <= 0 || v > limit) {
			return limit
		}
		return v
	}
	if e.MaxCPUs > 0 && (cpus <= 0 || cpus > e.MaxCPUs) {
		cpus = e.MaxCPUs
	}
	return capI(memory, e.MaxMemory), cpus, capI(pids, e.MaxPids), capI(tmpfs, e.MaxTmpfs)
}

// ShowFor writes the effective policy for uid, or returns why there is
// none (the error every command would be denied with): for `hermes-exec
// policy show` and `hermes-exec doctor`.
func ShowFor(w io.Writer, uid int) error {
	eff, err := ForUID(uid)
	if err != nil {
		return err
	}
	eff.Show(w)
	return nil
}

// Show writes the effective policy, in the file's own shape, for
// `hermes-exec policy show` and doctor.
func (e Effective) Show(w io.Writer) {
	src := e.Path
	if !e.Present {
		src += " (no file: no administrator policy)"
	}
	fmt.Fprintf(w, "# effective policy for %s from %s\n", e.User, src)
	if len(e.Groups) > 0 {
		fmt.Fprintf(w, "# groups that apply: %s\n", strings.Join(e.Groups, ", "))
	}
	unset := "unset"
	str := func(set bool, v string) string {
		if !set {
			return unset
		}
		return v
	}
	b := "any"
	if len(e.Backends) > 0 {
		b = "[" + strings.Join(e.Backends, ", ") + "]"
	}
	fmt.Fprintf(w, "backends: %s\n", b)
	fmt.Fprintf(w, "max_memory: %s\n", str(e.MaxMemory > 0, size(e.MaxMemory)))
	fmt.Fprintf(w, "max_cpus: %s\n", str(e.MaxCPUs > 0, strconv.FormatFloat(e.MaxCPUs, 'g', -1, 64)))
	fmt.Fprintf(w, "max_pids: %s\n", str(e.MaxPids > 0, strconv.FormatInt(e.MaxPids, 10)))
	fmt.Fprintf(w, "max_tmpfs: %s\n", str(e.MaxTmpfs > 0, size(e.MaxTmpfs)))
	if len(e.Deny) == 0 {
		fmt.Fprintln(w, "deny: []")
	} else {
		fmt.Fprintln(w, "deny:")
		for _, d := range e.Deny {
			fmt.Fprintf(w, "  - %q\n", d)
		}
	}
	fmt.Fprintln(w, "approvals:")
	fmt.Fprintf(w, "  forbid_off: %t\n", e.ForbidsOff())
	fmt.Fprintf(w, "  forbid_yolo: %t\n", e.ForbidsYolo())
	fmt.Fprintf(w, "  max_timeout: %s\n", str(e.MaxTimeout > 0, strconv.Itoa(int(e.MaxTimeout/time.Second))))
	c, s, r := e.SupervisorCaps()
	fmt.Fprintf(w, "max_commands: %d\nmax_sessions: %d\nmax_rate: %d  # per minute\n", c, s, r)
}

// Supervisor caps when the policy sets none: enough for an agent or two,
// too few to exhaust the machine.
const (
	DefaultMaxCommands = 32
	DefaultMaxSessions = 16
	DefaultMaxRate     = 600
)

// SupervisorCaps are the per-user caps the supervisor enforces.
func (e Effective) SupervisorCaps() (commands, sessions, perMinute int) {
	commands, sessions, perMinute = DefaultMaxCommands, DefaultMaxSessions, DefaultMaxRate
	if e.MaxCommands > 0 {
		commands = e.MaxCommands
	}
	if e.MaxSessions > 0 {
		sessions = e.MaxSessions
	}
	if e.MaxRate > 0 {
		perMinute = e.MaxRate
	}
	return
}

func size(b int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"t", 1 << 40}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if b%u.n == 0 {
			return strconv.FormatInt(b/u.n, 10) + u.s
		}
	}
	return strconv.FormatInt(b, 10)
}
