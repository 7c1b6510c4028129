package sandbox

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/sirupsen/logrus"

	"hermes-exec/internal/phase"
	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
	"hermes-exec/isolate/sandbox/spare"
)

const (
	freshPrefix   = "f-"
	sessionPrefix = execproto.SessionPrefix
	sparePrefix   = spare.Prefix
)

// isContainerID reports whether name (a state directory entry) is the id
// of one of the sandbox's containers.
func isContainerID(name string) bool {
	return strings.HasPrefix(name, freshPrefix) || strings.HasPrefix(name, sessionPrefix) || strings.HasPrefix(name, sparePrefix)
}

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
	o, err := o.WithDefaults()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		primeCgroupJoin() // in the background, while the rest is made
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
	phase.Mark("sandbox-new")
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
		if err := b.execChecksInSession(); err != nil {
			return isolate.Status{}, err
		}
		return b.runSession(ctx, s)
	}
	return b.runFresh(ctx, s)
}

// processEnv is the command's environment (execproto.CommandEnv, the rule
// the main binary applies too when it asks a session reaper directly).
func (b *backend) processEnv(env []string) []string {
	return execproto.CommandEnv(env, b.o.Passthrough, b.tmpl.owner.SkillEnv)
}

// cwd is the command's working directory (execproto's Options.CommandDir).
func (b *backend) cwd(dir string) string { return b.o.CommandDir(dir) }
