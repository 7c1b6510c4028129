package main

import (
	"hermes-exec/approval"
	"hermes-exec/approval/tty"

	"fmt"
	"os"
	"path/filepath"
	"strings"

	"hermes-exec/isolate"
	"hermes-exec/isolate/containerdexec"
	"hermes-exec/isolate/sandboxexec"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/secretstore"
	"hermes-exec/shim"

	"github.com/sirupsen/logrus"
)

// setup is everything loaded once per invocation.
type setup struct {
	home   string
	cfg    *config.Config
	log    *logrus.Logger
	global globalOpts
}

// newLogger returns the stderr logger; quiet (warnings only) by default.
func newLogger(level string) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	if level == "" {
		level = os.Getenv("HERMES_LOG_LEVEL")
	}
	if level != "" {
		l, err := logrus.ParseLevel(level)
		if err != nil {
			return nil, usageError{fmt.Sprintf("--log-level: %v", err)}
		}
		log.SetLevel(l)
	}
	return log, nil
}

// load reads the configuration. Errors are returned as they are; callers
// that are about to run a command turn them into a denial.
func load(g globalOpts) (*setup, error) {
	log, err := newLogger(g.logLevel)
	if err != nil {
		return nil, err
	}
	path := g.config
	if path == "" {
		path = config.DefaultPath()
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return &setup{home: config.Home(), cfg: cfg, log: log, global: g}, nil
}

// classifier compiles the user's allowlist and deny rules.
func (s *setup) classifier() (*policy.Classifier, error) {
	c, err := policy.NewClassifier(policy.Rules{
		Allowlist: s.cfg.Approvals.Allowlist,
		Deny:      s.cfg.Approvals.Deny,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.cfg.Path, err)
	}
	return c, nil
}

// backendName is --backend, else terminal.backend, else host.
func (s *setup) backendName() string {
	if s.global.backend != "" {
		return s.global.backend
	}
	if s.cfg.Terminal.Backend != "" {
		return s.cfg.Terminal.Backend
	}
	return "host"
}

// backend opens the chosen backend and says whether it is a container.
func (s *setup) backend() (isolate.Backend, bool, error) {
	switch name := s.backendName(); name {
	case "host":
		return isolate.NewHost(), false, nil
	case "sandbox":
		opts, err := sandboxOptions(s)
		if err != nil {
			return nil, true, err
		}
		b, err := sandboxexec.New(opts)
		return b, true, err
	case "containerd":
		opts, err := containerdOptions(s)
		if err != nil {
			return nil, true, err
		}
		b, err := containerdexec.New(opts)
		return b, true, err
	default:
		return nil, false, fmt.Errorf("unknown backend %q (choose host, sandbox or containerd)", name)
	}
}

// sandboxOptions turns the container section of config.yaml into sandbox
// options.
func sandboxOptions(s *setup) (sandboxexec.Options, error) {
	c := s.cfg.Container
	o := sandboxexec.Options{
		StateDir:    sandboxStateDir(s.home),
		HermesHome:  s.home,
		Workspace:   c.Workspace,
		Rootfs:      c.Rootfs,
		Network:     c.Network,
		CPUs:        c.CPUs,
		Pids:        c.Pids,
		Persist:     c.Persist,
		Idle:        c.Idle,
		Passthrough: s.cfg.Terminal.EnvPassthrough,
	}
	var err error
	if c.Memory != "" {
		if o.Memory, err = config.ParseBytes(c.Memory); err != nil {
			return o, fmt.Errorf("container.memory: %w", err)
		}
	}
	if c.TmpfsSize != "" {
		if o.TmpfsSize, err = config.ParseBytes(c.TmpfsSize); err != nil {
			return o, fmt.Errorf("container.tmpfs_size: %w", err)
		}
	}
	if o.Workspace == "" {
		if o.Workspace, err = os.Getwd(); err != nil {
			return o, err
		}
	}
	return o, nil
}

// sandboxStateDir is where sandbox state lives: /run for root, the user's
// runtime directory otherwise.
func sandboxStateDir(home string) string {
	if os.Geteuid() == 0 {
		return "/run/hermes-exec/sandbox"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "hermes-exec", "sandbox")
	}
	return filepath.Join(home, "run", "sandbox")
}

// truthy reads boolean environment switches such as HERMES_YOLO=1.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// flow assembles the shim flow for one command.
func (s *setup) flow() (*shim.Flow, error) {
	cls, err := s.classifier()
	if err != nil {
		return nil, err
	}
	be, contained, err := s.backend()
	if err != nil {
		return nil, err
	}
	environ := os.Environ()
	dotenv, err := config.DotEnvNames(filepath.Join(s.home, ".env"))
	if err != nil {
		// Without the list of names to hide, secrets could leak: refuse.
		return nil, fmt.Errorf("cannot read %s: %w", filepath.Join(s.home, ".env"), err)
	}
	// .env.age's names are filtered and its values redacted like .env's.
	ageNames, ageValues, err := secretstore.Gather(s.home)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	dotenv = append(dotenv, ageNames...)
	return &shim.Flow{
		Config:       s.cfg,
		Classifier:   cls,
		Backend:      be,
		Contained:    contained,
		Yolo:         s.global.yolo || truthy(os.Getenv("HERMES_YOLO")),
		OpenApprover: s.openApprover,
		Sessions:     shim.Sessions{Dir: filepath.Join(s.home, "sessions")},
		SessionID:    shim.SessionID(),
		Audit:        shim.Audit{Path: filepath.Join(s.home, "audit.jsonl")},
		Env:          isolate.FilterEnv(environ, s.cfg.Terminal.EnvPassthrough, dotenv),
		Secrets:      append(secretValues(environ, dotenv), ageValues...),
		Stdin:        os.Stdin,
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
		Log:          s.log,
	}, nil
}

// secretValues are the values to redact from the audit log: those of
// secret-looking variables and of every name defined in $HERMES_HOME/.env.
func secretValues(environ, dotenv []string) []string {
	vals := shim.SecretValues(environ)
	if len(dotenv) == 0 {
		return vals
	}
	names := make(map[string]bool, len(dotenv))
	for _, n := range dotenv {
		names[n] = true
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && names[k] && len(v) >= 4 {
			vals = append(vals, v)
		}
	}
	return vals
}

func openTTYApprover() (approval.Approver, error) {
	t, err := tty.Open()
	if err != nil {
		return nil, err
	}
	return t, nil
}

// wantTTY reports whether the command gets a pseudo-terminal: only when
// the caller itself is on a terminal at both ends.
func wantTTY() bool {
	return pty.IsTerminal(os.Stdin) && pty.IsTerminal(os.Stdout)
}
