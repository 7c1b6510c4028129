// Package adminpolicy reads the administrator's policy,
// /etc/hermes-exec/policy.yaml: caps and rules for every user of a shared
// machine that no user's config.yaml can lift. Both the wrapper (on every
// path, whatever backend runs the command) and the root supervisor read it;
// the supervisor enforces it again on its side, since a user can talk to
// its socket without the wrapper.
//
// The file has three levels, each a Rules mapping:
//
//	default:  everyone
//	groups:   per group name (a user's groups from the user database)
//	users:    per login name
//
// A more specific level replaces what a less specific one set (groups:
// ci: {max_memory: 8g} raises the default for members of ci); among several
// groups of one user the most generous value wins, since each was granted
// by the administrator. Deny rules are added up over every level that
// applies. The user's own config can then only narrow what results
// (Effective.Apply): that is "tighten-only".
//
// The path is fixed: no environment variable or flag of the wrapper moves
// it. Only a binary built with the hermes_testpolicy tag (the tests') reads
// HERMES_TEST_POLICY; the shipped binaries do not contain that code.
package adminpolicy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"

	"hermes-exec/policy/config"
)

// DefaultPath is where the administrator's policy lives.
const DefaultPath = "/etc/hermes-exec/policy.yaml"

// path is DefaultPath; only test builds change it (testpath.go).
var path = DefaultPath

// Path is the policy file this binary reads.
func Path() string { return path }

// maxSize caps what is read: a policy is a few hundred bytes.
const maxSize = 1 << 20

// Rules is one level of the policy. A zero field is "not set here".
type Rules struct {
	// Backends are the only backends a user may use; the first is the
	// one used when the user names none.
	Backends []string
	// MaxMemory, MaxTmpfs in bytes; MaxCPUs in CPUs; MaxPids processes:
	// caps on the sandbox's limits.
	MaxMemory int64
	MaxCPUs   float64
	MaxPids   int64
	MaxTmpfs  int64
	// Deny entries are added to every user's approvals.deny.
	Deny []string
	// Approvals: a floor for approvals.mode and --yolo, a ceiling for
	// approvals.timeout.
	ForbidOff  *bool
	ForbidYolo *bool
	MaxTimeout time.Duration
	// Supervisor caps (extensions of the shape): concurrent
	// commands, live session sandboxes, and commands started per minute.
	MaxCommands int
	MaxSessions int
	MaxRate     int
}

// Policy is the parsed file.
type Policy struct {
	// Path is the file read; Present is false when there is none.
	Path    string
	Present bool
	Default Rules
	Groups  map[string]Rules
	Users   map[string]Rules
}

// Error is a policy that cannot be used: every command is then denied
// with it. Line is 0 when the fault is not in the text (ownership, mode).
type Error struct {
	Path string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// Load reads the policy at its fixed path. No file (and a trustworthy
// directory chain above where it would be) is an empty policy; anything
// else wrong is an *Error, and the caller must deny.
func Load() (*Policy, error) { return load(path) }

func load(p string) (*Policy, error) {
	pol := &Policy{Path: p}
	if err := checkParents(p); err != nil {
		return nil, err
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ENOENT) {
		return pol, nil
	}
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &Error{Path: p, Msg: "is a symlink; the policy must be a regular file owned by root"}
		}
		return nil, &Error{Path: p, Msg: err.Error()}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &Error{Path: p, Msg: err.Error()}
	}
	if err := trusted(p, &st, unix.S_IFREG); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, &Error{Path: p, Msg: err.Error()}
	}
	if len(data) > maxSize {
		return nil, &Error{Path: p, Msg: fmt.Sprintf("larger than %d bytes", maxSize)}
	}
	pol.Present = true
	if err := parse(pol, data); err != nil {
		return nil, err
	}
	return pol, nil
}

// checkParents refuses a policy in a directory someone other than root
// could change: whoever can write one of them can replace the file. Only
// directories that exist are checked (a missing /etc/hermes-exec means no
// policy, as long as /etc could not have it created by a user).
func checkParents(p string) error {
	dir := filepath.Dir(p)
	var chain []string
	for d := dir; ; d = filepath.Dir(d) {
		chain = append(chain, d)
		if d == "/" || d == "." {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		d := chain[i]
		var st unix.Stat_t
		err := unix.Lstat(d, &st)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return &Error{Path: p, Msg: fmt.Sprintf("%s: %v", d, err)}
		}
		if err := trusted(d, &st, unix.S_IFDIR); err != nil {
			return &Error{Path: p, Msg: err.(*Error).Msg}
		}
	}
	return nil
}

// trusted: of the wanted type (so not a symlink), owned by root, writable
// by no one else.
func trusted(p string, st *unix.Stat_t, typ uint32) error {
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return &Error{Path: p, Msg: p + " is a symlink; the policy and its directories must not be"}
	case st.Mode&unix.S_IFMT != typ:
		return &Error{Path: p, Msg: p + " is not a " + map[uint32]string{unix.S_IFREG: "regular file", unix.S_IFDIR: "directory"}[typ]}
	case st.Uid != 0:
		return &Error{Path: p, Msg: fmt.Sprintf("%s is owned by uid %d, not root: the policy is refused", p, st.Uid)}
	case st.Mode&0o022 != 0:
		return &Error{Path: p, Msg: fmt.Sprintf("%s is writable by group or others (mode %#o): the policy is refused", p, st.Mode&0o7777)}
	}
	return nil
}

// parse fills pol from the YAML text, naming the line of every mistake.
// Unknown keys are mistakes too: a misspelt cap silently ignored would be
// a cap that does not hold.
func parse(pol *Policy, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// "yaml: line N: ..." carries the line.
			if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
				if n, tail, ok := strings.Cut(rest, ":"); ok {
					if l, err := strconv.Atoi(n); err == nil {
						line, msg = l, strings.TrimSpace(tail)
					}
				}
			}
		}
		return &Error{Path: pol.Path, Line: line, Msg: msg}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file: no rules
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return pol.errAt(root, "the policy must be a mapping with default, groups and users")
	}
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "default":
			r, err := pol.rules(v, "default")
			errs = append(errs, err)
			pol.Default = r
		case "groups", "users":
			m, err := pol.named(v, k.Value)
			errs = append(errs, err)
			if k.Value == "groups" {
				pol.Groups = m
			} else {
				pol.Users = m
			}
		default:
			errs = append(errs, pol.errAt(k, "unknown key %q (want default, groups, users)", k.Value))
		}
	}
	return firstErr(errs)
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (pol *Policy) errAt(n *yaml.Node, format string, a ...any) error {
	return &Error{Path: pol.Path, Line: n.Line, Msg: fmt.Sprintf(format, a...)}
}

func (pol *Policy) named(n *yaml.Node, what string) (map[string]Rules, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, pol.errAt(n, "%s: want a mapping of names to rules", what)
	}
	m := map[string]Rules{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "" {
			return nil, pol.errAt(k, "%s: empty name", what)
		}
		if _, dup := m[k.Value]; dup {
			return nil, pol.errAt(k, "%s: %q appears twice", what, k.Value)
		}
		r, err := pol.rules(v, what+"."+k.Value)
		if err != nil {
			return nil, err
		}
		m[k.Value] = r
	}
	return m, nil
}

// Known backends (terminal.backend's values).
var backends = []string{config.BackendHost, config.BackendSandbox, config.BackendContainerd, config.BackendSupervisor}

func (pol *Policy) rules(n *yaml.Node, where string) (Rules, error) {
	var r Rules
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return r, nil
	}
	if n.Kind != yaml.MappingNode {
		return r, pol.errAt(n, "%s: want a mapping of rules", where)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := where + "." + k.Value
		var err error
		switch k.Value {
		case "backends":
			r.Backends, err = pol.list(v, key)
			for _, b := range r.Backends {
				if err == nil && !contains(backends, b) {
					err = pol.errAt(v, "%s: %q is not one of %s", key, b, strings.Join(backends, ", "))
				}
			}
			if err == nil && len(r.Backends) == 0 {
				err = pol.errAt(v, "%s: an empty list would allow no backend at all", key)
			}
		case "max_memory", "max_tmpfs":
			var s string
			if s, err = pol.scalar(v, key); err == nil {
				var b int64
				if b, err = config.ParseBytes(s); err != nil || b <= 0 {
					err = pol.errAt(v, "%s: %q is not a size like 512m or 2g", key, s)
				} else if k.Value == "max_memory" {
					r.MaxMemory = b
				} else {
					r.MaxTmpfs = b
				}
			}
		case "max_cpus":
			var s string
			if s, err = pol.scalar(v, key); err == nil {
				f, perr := strconv.ParseFloat(s, 64)
				if perr != nil || f <= 0 || f != f {
					err = pol.errAt(v, "%s: %q is not a positive number of CPUs", key, s)
				}
				r.MaxCPUs = f
			}
		case "max_pids":
			var x int
			x, err = pol.positive(v, key)
			r.MaxPids = int64(x)
		case "max_commands":
			r.MaxCommands, err = pol.positive(v, key)
		case "max_sessions":
			r.MaxSessions, err = pol.positive(v, key)
		case "max_rate":
			r.MaxRate, err = pol.positive(v, key)
		case "deny":
			r.Deny, err = pol.list(v, key)
		case "approvals":
			err = pol.approvals(v, key, &r)
		default:
			err = pol.errAt(k, "unknown key %q (want backends, max_memory, max_cpus, max_pids, max_tmpfs, deny, approvals, max_commands, max_sessions, max_rate)", key)
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

func (pol *Policy) approvals(n *yaml.Node, where string, r *Rules) error {
	if n.Kind != yaml.MappingNode {
		return pol.errAt(n, "%s: want a mapping (forbid_off, forbid_yolo, max_timeout)", where)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := where + "." + k.Value
		switch k.Value {
		case "forbid_off", "forbid_yolo":
			var b bool
			if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
				return pol.errAt(v, "%s: want true or false", key)
			}
			if k.Value == "forbid_off" {
				r.ForbidOff = &b
			} else {
				r.ForbidYolo = &b
			}
		case "max_timeout":
			s, err := pol.scalar(v, key)
			if err != nil {
				return err
			}
			d, perr := time.ParseDuration(s)
			if secs, err := strconv.Atoi(s); err == nil {
				d, perr = time.Duration(secs)*time.Second, nil
			}
			if perr != nil || d <= 0 {
				return pol.errAt(v, "%s: %q is not seconds or a duration like 10m", key, s)
			}
			r.MaxTimeout = d
		default:
			return pol.errAt(k, "unknown key %q (want forbid_off, forbid_yolo, max_timeout)", key)
		}
	}
	return nil
}

func (pol *Policy) scalar(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", pol.errAt(n, "%s: want a value", key)
	}
	return n.Value, nil
}

func (pol *Policy) positive(n *yaml.Node, key string) (int, error) {
	s, err := pol.scalar(n, key)
	if err != nil {
		return 0, err
	}
	x, err := strconv.Atoi(s)
	if err != nil || x <= 0 {
		return 0, pol.errAt(n, "%s: %q is not a positive whole number", key, s)
	}
	return x, nil
}

func (pol *Policy) list(n *yaml.Node, key string) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, pol.errAt(n, "%s: want a list", key)
	}
	out := []string{}
	for _, e := range n.Content {
		if e.Kind != yaml.ScalarNode || strings.TrimSpace(e.Value) == "" {
			return nil, pol.errAt(e, "%s: every entry must be a non-empty string", key)
		}
		out = append(out, e.Value)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// For is the policy that applies to user, a member of groups.
func (pol *Policy) For(user string, groups []string) Effective {
	e := Effective{Rules: pol.Default, User: user, Path: pol.Path, Present: pol.Present}
	e.Deny = append([]string(nil), pol.Default.Deny...)
	var g Rules
	var names []string
	for _, name := range groups {
		if _, ok := pol.Groups[name]; ok && !contains(names, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for i, name := range names {
		r := pol.Groups[name]
		e.Deny = append(e.Deny, r.Deny...)
		if i == 0 {
			g = r
			continue
		}
		g = generous(g, r)
	}
	e.Groups = names
	e.Rules = overlay(e.Rules, g)
	if u, ok := pol.Users[user]; ok {
		e.Deny = append(e.Deny, u.Deny...)
		e.Rules = overlay(e.Rules, u)
	}
	e.Rules.Deny = e.Deny
	return e
}

// overlay: what top sets replaces base's.
func overlay(base, top Rules) Rules {
	if top.Backends != nil {
		base.Backends = top.Backends
	}
	setI64(&base.MaxMemory, top.MaxMemory)
	setI64(&base.MaxPids, top.MaxPids)
	setI64(&base.MaxTmpfs, top.MaxTmpfs)
	if top.MaxCPUs != 0 {
		base.MaxCPUs = top.MaxCPUs
	}
	if top.ForbidOff != nil {
		base.ForbidOff = top.ForbidOff
	}
	if top.ForbidYolo != nil {
		base.ForbidYolo = top.ForbidYolo
	}
	if top.MaxTimeout != 0 {
		base.MaxTimeout = top.MaxTimeout
	}
	setInt(&base.MaxCommands, top.MaxCommands)
	setInt(&base.MaxSessions, top.MaxSessions)
	setInt(&base.MaxRate, top.MaxRate)
	return base
}

func setI64(dst *int64, v int64) {
	if v != 0 {
		*dst = v
	}
}

func setInt(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

// generous merges two groups' rules: a field set by one group only is
// kept, else the larger cap, the union of backends, a switch forbidden
// only if both forbid it.
func generous(a, b Rules) Rules {
	maxI64 := func(x, y int64) int64 {
		if x == 0 || y == 0 {
			return x + y // the one that is set
		}
		return max(x, y)
	}
	maxInt := func(x, y int) int { return int(maxI64(int64(x), int64(y))) }
	out := a
	out.MaxMemory = maxI64(a.MaxMemory, b.MaxMemory)
	out.MaxPids = maxI64(a.MaxPids, b.MaxPids)
	out.MaxTmpfs = maxI64(a.MaxTmpfs, b.MaxTmpfs)
	out.MaxTimeout = time.Duration(maxI64(int64(a.MaxTimeout), int64(b.MaxTimeout)))
	out.MaxCommands = maxInt(a.MaxCommands, b.MaxCommands)
	out.MaxSessions = maxInt(a.MaxSessions, b.MaxSessions)
	out.MaxRate = maxInt(a.MaxRate, b.MaxRate)
	if a.MaxCPUs == 0 || b.MaxCPUs == 0 {
		out.MaxCPUs = a.MaxCPUs + b.MaxCPUs
	} else {
		out.MaxCPUs = max(a.MaxCPUs, b.MaxCPUs)
	}
	switch {
	case a.Backends == nil:
		out.Backends = b.Backends
	case b.Backends != nil:
		out.Backends = append([]string(nil), a.Backends...)
		for _, x := range b.Backends {
			if !contains(out.Backends, x) {
				out.Backends = append(out.Backends, x)
			}
		}
	}
	both := func(x, y *bool) *bool {
		switch {
		case x == nil:
			return y
		case y == nil:
			return x
		}
		v := *x && *y
		return &v
	}
	out.ForbidOff = both(a.ForbidOff, b.ForbidOff)
	out.ForbidYolo = both(a.ForbidYolo, b.ForbidYolo)
	return out
}

// LoadPath reads a policy at p with the same checks as Load. Only the root
// supervisor's --policy flag uses it (the wrapper has no way to name
// another file).
func LoadPath(p string) (*Policy, error) { return load(p) }
