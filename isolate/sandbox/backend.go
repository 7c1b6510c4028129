package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"hermes-exec/isolate"
)

const (
	freshPrefix   = "f-"
	sessionPrefix = "s-"
)

// backend runs commands in sandbox containers.
type backend struct {
	o    Options
	tmpl *template
}

// New checks the options, prepares the container template and collects what
// dead wrappers and idle sessions left. It fails, rather than run a command
// with less isolation than configured, when the sandbox cannot be built as
// asked.
func New(o Options) (isolate.Backend, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	t, err := newTemplate(o)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	// Cheap: one directory read when nothing was left behind.
	if removed, err := gc(o, false); err != nil {
		logrus.WithError(err).Debug("sandbox: collecting leftovers")
	} else if len(removed) > 0 {
		logrus.WithField("removed", removed).Debug("sandbox: collected leftovers")
	}
	return &backend{o: o, tmpl: t}, nil
}

// Name is "sandbox".
func (b *backend) Name() string { return "sandbox" }

// Run runs s in the session's container when persistence is on and a
// session id is given, else in a fresh container.
func (b *backend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	if len(s.Args) == 0 {
		return isolate.Status{}, errors.New("sandbox: empty command")
	}
	if b.o.Persist == persistSession && s.Session != "" {
		return b.runSession(ctx, s)
	}
	return b.runFresh(ctx, s)
}

// processEnv is the command's environment: only the baseline variables,
// terminal.env_passthrough and the names skills declare in HERMES_SKILL_ENV,
// taken from the already filtered Spec.Env.
func (b *backend) processEnv(env []string) []string {
	pass := append([]string(nil), b.o.Passthrough...)
	pass = append(pass, skillEnvNames(env)...)
	out := isolate.BaselineEnv(env, pass)
	if !hasVar(out, "PATH") {
		out = append(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	return out
}

// skillEnvNames are the names listed in HERMES_SKILL_ENV (separated by
// commas, colons or white space), from env or else the wrapper's own
// environment. Patterns are not allowed: a skill declares names.
func skillEnvNames(env []string) []string {
	list, ok := lookupVar(env, "HERMES_SKILL_ENV")
	if !ok {
		list = os.Getenv("HERMES_SKILL_ENV")
	}
	names := strings.FieldsFunc(list, func(r rune) bool {
		return r == ',' || r == ':' || r == ' ' || r == '\t' || r == '\n'
	})
	out := names[:0]
	for _, n := range names {
		if n != "" && !strings.Contains(n, "*") {
			out = append(out, n)
		}
	}
	return out
}

func lookupVar(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func hasVar(env []string, name string) bool {
	_, ok := lookupVar(env, name)
	return ok
}

// cwd is the command's working directory: Spec.Dir when it is inside the
// workspace or otherwise visible, else the workspace.
func (b *backend) cwd(dir string) string {
	if dir == "" {
		return b.o.Workspace
	}
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	if filepath.IsAbs(dir) {
		return dir
	}
	return b.o.Workspace
}
