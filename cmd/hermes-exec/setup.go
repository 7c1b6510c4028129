package main

import (
	"hermes-exec/adminpolicy"
	"hermes-exec/approval"
	"hermes-exec/approval/tty"

	"fmt"
	"os"
	"strings"

	"hermes-exec/internal/hermeshome"
	"hermes-exec/internal/safefs"
	"hermes-exec/internal/userdb"
	"hermes-exec/isolate"
	_ "hermes-exec/isolate/containerdexec" // registers the containerd backend
	_ "hermes-exec/isolate/sandboxexec"    // registers the sandbox backend
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/secretstore"
	"hermes-exec/shim"

	"github.com/sirupsen/logrus"
)

// setup is everything loaded once per invocation.
type setup struct {
	home   hermeshome.Layout
	cfg    *config.Config
	log    *logrus.Logger
	global globalOpts
	// admin is the administrator's policy for this user
	// (/etc/hermes-exec/policy.yaml), already applied to cfg.
	admin adminpolicy.Effective
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

// untrustedHomeError is a HERMES_HOME that cannot be used at all: none
// could be found, or another user could have written it. Nothing is
// written there, not even the denial's audit record.
type untrustedHomeError struct{ err error }

func (e untrustedHomeError) Error() string { return e.err.Error() }
func (e untrustedHomeError) Unwrap() error { return e.err }

// hermesHome is the caller's HERMES_HOME, resolved the one way
// (hermeshome.Find: $HERMES_HOME, else the user database's home, never
// $HOME) and checked as ssh's StrictModes checks ~/.ssh (safefs.CheckDir):
// a directory another user owns or can write could hold any rules, such as
// approvals.mode: off, so every command is refused with the reason.
func hermesHome() (hermeshome.Layout, error) {
	dir, err := hermeshome.Find(os.Getenv, os.Getuid())
	if err != nil {
		return hermeshome.Layout{}, untrustedHomeError{err}
	}
	if err := safefs.CheckDir(dir, os.Geteuid()); err != nil {
		return hermeshome.Layout{Dir: dir}, untrustedHomeError{fmt.Errorf("HERMES_HOME %s cannot be trusted: %w", dir, err)}
	}
	return hermeshome.Layout{Dir: dir}, nil
}

// homeLayout is HERMES_HOME resolved the same one way, without the trust
// check, for the subcommands that inspect or manage it whatever state it is
// in (doctor, audit, secrets, the gateway). When no home can be found it is
// hermeshome.Resolve's /nonexistent/.hermes, where nothing will be found.
func homeLayout() hermeshome.Layout {
	dir, err := hermeshome.Find(os.Getenv, os.Getuid())
	if err != nil {
		dir = hermeshome.Resolve(os.Getenv, "")
	}
	return hermeshome.Layout{Dir: dir}
}

// load reads the configuration. Errors are returned as they are; callers
// that are about to run a command turn them into a denial.
func load(g globalOpts) (*setup, error) {
	log, err := newLogger(g.logLevel)
	if err != nil {
		return nil, err
	}
	home, err := hermesHome()
	if err != nil {
		return nil, err
	}
	path := g.config
	if path == "" {
		path = home.Config()
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	// The administrator's policy holds on every path: a broken or
	// untrustworthy one denies everything, like a broken config.yaml.
	admin, err := loadAdminPolicy(cfg, log)
	if err != nil {
		return nil, err
	}
	return &setup{home: home, cfg: cfg, log: log, global: g, admin: admin}, nil
}

// classifier compiles the user's allowlist and deny rules, and hands the
// classifier the machine it decides for: homes from the user database (a
// lookup that fails leaves that part unknown, which only ~ and $HOME then
// cover), the Hermes home in force and the default one, the working
// directory.
func (s *setup) classifier() (*policy.Classifier, error) {
	home, _ := hermeshome.UserHome(os.Getuid())
	homes, _ := userdb.Homes()
	cwd, _ := os.Getwd()
	def := ""
	if home != "" {
		def = hermeshome.Default(home)
	}
	hh := s.home.Dir // absolute: hermeshome resolves it so
	c, err := policy.NewClassifier(policy.Rules{
		Allowlist: s.cfg.Approvals.Allowlist,
		Deny:      s.cfg.Approvals.Deny,
		// The text's programs are all executed later, each checked
		// then (see execchecks.go).
		DeferPrograms: s.execChecked(),
		Context: policy.Context{Home: home, Homes: homes, HermesHome: hh,
			DefaultHermesHome: def, Cwd: cwd},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.cfg.Path, err)
	}
	return c, nil
}

// backendName is --backend, else terminal.backend, else host, as the
// administrator's policy allows; "" when the policy does not allow the
// --backend given (backend() then denies with the reason).
func (s *setup) backendName() string {
	name, _ := s.backendChoice()
	return name
}

// backendChoice is backendName, with the reason a choice is refused.
func (s *setup) backendChoice() (string, error) {
	name, note, err := s.admin.Backend(s.global.backend, s.cfg.Terminal.Backend)
	if note != "" {
		s.log.Info(note)
	}
	return name, err
}

// backend opens the chosen backend through the registry (each backend
// maps its own options from the configuration) and says whether it is a
// container.
func (s *setup) backend() (isolate.Backend, bool, error) {
	name, err := s.backendChoice()
	if err != nil {
		return nil, false, err
	}
	return isolate.Open(name, isolate.Context{
		Config:     s.cfg,
		HermesHome: s.home.Dir,
	})
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
	yolo := s.global.yolo || truthy(os.Getenv("HERMES_YOLO"))
	if yolo && s.admin.ForbidsYolo() {
		fmt.Fprintf(os.Stderr, "hermes-exec: --yolo is forbidden by %s: asking as usual\n", s.admin.Path)
	}
	environ := os.Environ()
	dotenv, err := config.DotEnvNames(s.home.Env())
	if err != nil {
		// Without the list of names to hide, secrets could leak: refuse.
		return nil, fmt.Errorf("cannot read %s: %w", s.home.Env(), err)
	}
	// .env.age's names are filtered and its values redacted like .env's.
	ageNames, ageValues, err := secretstore.Gather(s.home.Dir)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	dotenv = append(dotenv, ageNames...)
	fl := &shim.Flow{
		Config:       s.cfg,
		Classifier:   cls,
		Backend:      be,
		Contained:    contained,
		Yolo:         yolo && !s.admin.ForbidsYolo(),
		ForbidYolo:   s.admin.ForbidsYolo(),
		OpenApprover: s.openApprover,
		Sessions:     shim.Sessions{Dir: s.home.Sessions()},
		SessionID:    shim.SessionID(),
		Audit:        shim.Audit{Path: s.home.Audit()},
		Env:          isolate.FilterEnv(environ, s.cfg.Terminal.EnvPassthrough, dotenv),
		Secrets:      shim.SecretSet(environ, dotenv, true, ageValues...),
		Stdin:        os.Stdin,
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
		Log:          s.log,
	}
	if err := wireExecChecks(s, fl); err != nil {
		return nil, err
	}
	return fl, nil
}

func openTTYApprover() (approval.Approver, error) {
	if a, ok := heldTerminal(); ok {
		return a, nil // exec checks: opened before the command ran
	}
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
