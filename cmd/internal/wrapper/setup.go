// Package wrapper is what every invocation of hermes-exec loads and runs
// through: the configuration and the administrator's policy, the
// classifier, the backend, the approval channels, the flow, the exec
// checks and the agents' hook. Both programs link it: hermes-exec (the
// shell, on the path of every command an agent runs) and
// hermes-exec-admin (the subcommands). It must stay free of what only
// the subcommands need (the gateway's server, net/http, the chat bridges,
// urfave/cli): the shell pays for every package it imports at each start.
package wrapper

import (
	"fmt"
	"os"
	"strings"

	"hermes-exec/adminpolicy"
	"hermes-exec/approval"
	"hermes-exec/approval/tty"

	"hermes-exec/internal/hermeshome"
	"hermes-exec/internal/safefs"
	"hermes-exec/internal/userdb"
	"hermes-exec/isolate"
	_ "hermes-exec/isolate/containerdexec" // registers the containerd backend
	_ "hermes-exec/isolate/sandboxexec"    // registers the sandbox backend
	_ "hermes-exec/isolate/supervisorexec" // registers the supervisor backend
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/secretstore"
	"hermes-exec/shim"

	"github.com/sirupsen/logrus"
)

// Globals are hermes-exec's own options. They are accepted before a
// subcommand and, in shell mode, anywhere among bash's options.
type Globals struct {
	Yolo     bool
	Config   string
	Backend  string
	LogLevel string
}

// UsageError is a mistake in the command line: bash exits 2 for these in
// shell mode, the subcommands 64.
type UsageError string

func (e UsageError) Error() string { return string(e) }

// Setup is everything loaded once per invocation.
type Setup struct {
	Home   hermeshome.Layout
	Cfg    *config.Config
	Log    *logrus.Logger
	Global Globals
	// admin is the administrator's policy for this user
	// (/etc/hermes-exec/policy.yaml), already applied to cfg.
	admin adminpolicy.Effective
	// shellLinks are the links the shell found on PATH that are
	// hermes-exec (SetShellLinks, before Flow); linksKnown says it
	// looked. Elsewhere (hook, check) they are looked up.
	shellLinks []string
	linksKnown bool
}

// SetShellLinks hands over the shell's links found on PATH (resolveShell's
// walk), for policy.Context's SelfPrograms: no second walk.
func (s *Setup) SetShellLinks(links []string) { s.shellLinks, s.linksKnown = links, true }

// NewLogger returns the stderr logger; quiet (warnings only) by default.
func NewLogger(level string) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	if level == "" {
		level = os.Getenv("HERMES_LOG_LEVEL")
	}
	if level != "" {
		l, err := logrus.ParseLevel(level)
		if err != nil {
			return nil, UsageError(fmt.Sprintf("--log-level: %v", err))
		}
		log.SetLevel(l)
	}
	return log, nil
}

// UntrustedHomeError is a HERMES_HOME that cannot be used at all: none
// could be found, or another user could have written it. Nothing is
// written there, not even the denial's audit record.
type UntrustedHomeError struct{ err error }

func (e UntrustedHomeError) Error() string { return e.err.Error() }
func (e UntrustedHomeError) Unwrap() error { return e.err }

// HermesHome is the caller's HERMES_HOME, resolved the one way
// (hermeshome.Find: $HERMES_HOME, else the user database's home, never
// $HOME) and checked as ssh's StrictModes checks ~/.ssh (safefs.CheckDir):
// a directory another user owns or can write could hold any rules, such as
// approvals.mode: off, so every command is refused with the reason.
func HermesHome() (hermeshome.Layout, error) {
	dir, err := hermeshome.Find(os.Getenv, os.Getuid())
	if err != nil {
		return hermeshome.Layout{}, UntrustedHomeError{err}
	}
	if err := safefs.CheckDir(dir, os.Geteuid()); err != nil {
		return hermeshome.Layout{Dir: dir}, UntrustedHomeError{fmt.Errorf("HERMES_HOME %s cannot be trusted: %w", dir, err)}
	}
	return hermeshome.Layout{Dir: dir}, nil
}

// HomeLayout is HERMES_HOME resolved the same one way, without the trust
// check, for the subcommands that inspect or manage it whatever state it is
// in (doctor, audit, secrets, the gateway). When no home can be found it is
// hermeshome.Resolve's /nonexistent/.hermes, where nothing will be found.
func HomeLayout() hermeshome.Layout {
	dir, err := hermeshome.Find(os.Getenv, os.Getuid())
	if err != nil {
		dir = hermeshome.Resolve(os.Getenv, "")
	}
	return hermeshome.Layout{Dir: dir}
}

// Load reads the configuration. Errors are returned as they are; callers
// that are about to run a command turn them into a denial.
func Load(g Globals) (*Setup, error) {
	log, err := NewLogger(g.LogLevel)
	if err != nil {
		return nil, err
	}
	home, err := HermesHome()
	if err != nil {
		return nil, err
	}
	path := g.Config
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
	return &Setup{Home: home, Cfg: cfg, Log: log, Global: g, admin: admin}, nil
}

// Classifier compiles the user's allowlist and deny rules, and hands the
// classifier the machine it decides for: homes from the user database (a
// lookup that fails leaves that part unknown, which only ~ and $HOME then
// cover), the Hermes home in force and the default one, the working
// directory.
func (s *Setup) Classifier() (*policy.Classifier, error) {
	cwd, _ := os.Getwd()
	c, err := policy.NewClassifier(policy.Rules{
		Allowlist: s.Cfg.Approvals.Allowlist,
		Deny:      s.Cfg.Approvals.Deny,
		// The text's programs are all executed later, each checked
		// then (see execchecks.go).
		DeferPrograms: s.execChecked(),
		Context:       s.policyContext(cwd),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Cfg.Path, err)
	}
	return c, nil
}

// policyContext is the machine as the classifier knows it: homes from
// the user database (a lookup that fails leaves that part unknown, which
// only ~ and $HOME then cover), the Hermes home in force (absolute:
// hermeshome resolves it so) and the default one, the working directory
// cwd ("" for none), hermes-exec's own programs.
func (s *Setup) policyContext(cwd string) policy.Context {
	home, _ := hermeshome.UserHome(os.Getuid())
	homes, _ := userdb.Homes()
	def := ""
	if home != "" {
		def = hermeshome.Default(home)
	}
	return policy.Context{Home: home, Homes: homes, HermesHome: s.Home.Dir,
		DefaultHermesHome: def, Cwd: cwd,
		SelfPrograms: SelfPrograms(s.shellLinks, !s.linksKnown)}
}

// BackendName is --backend, else terminal.backend, else host, as the
// administrator's policy allows; "" when the policy does not allow the
// --backend given (backend() then denies with the reason).
func (s *Setup) BackendName() string {
	name, _ := s.backendChoice()
	return name
}

// backendChoice is BackendName, with the reason a choice is refused.
func (s *Setup) backendChoice() (string, error) {
	name, note, err := s.admin.Backend(s.Global.Backend, s.Cfg.Terminal.Backend)
	if note != "" {
		s.Log.Info(note)
	}
	return name, err
}

// backend opens the chosen backend through the registry (each backend
// maps its own options from the configuration) and says whether it is a
// container.
func (s *Setup) backend() (isolate.Backend, bool, error) {
	name, err := s.backendChoice()
	if err != nil {
		return nil, false, err
	}
	return isolate.Open(name, isolate.Context{
		Config:     s.Cfg,
		HermesHome: s.Home.Dir,
	})
}

// Truthy reads boolean environment switches such as HERMES_YOLO=1.
func Truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Flow assembles the shim flow for one command.
func (s *Setup) Flow() (*shim.Flow, error) {
	cls, err := s.Classifier()
	if err != nil {
		return nil, err
	}
	be, contained, err := s.backend()
	if err != nil {
		return nil, err
	}
	yolo := s.Global.Yolo || Truthy(os.Getenv("HERMES_YOLO"))
	if yolo && s.admin.ForbidsYolo() {
		fmt.Fprintf(os.Stderr, "hermes-exec: --yolo is forbidden by %s: asking as usual\n", s.admin.Path)
	}
	environ := os.Environ()
	dotenv, err := config.DotEnvNames(s.Home.Env())
	if err != nil {
		// Without the list of names to hide, secrets could leak: refuse.
		return nil, fmt.Errorf("cannot read %s: %w", s.Home.Env(), err)
	}
	// .env.age's names are filtered and its values redacted like .env's.
	ageNames, ageValues, err := secretstore.Gather(s.Home.Dir)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	dotenv = append(dotenv, ageNames...)
	fl := &shim.Flow{
		Config:       s.Cfg,
		Classifier:   cls,
		Backend:      be,
		Contained:    contained,
		Yolo:         yolo && !s.admin.ForbidsYolo(),
		ForbidYolo:   s.admin.ForbidsYolo(),
		OpenApprover: s.openApprover,
		Sessions:     shim.Sessions{Dir: s.Home.Sessions()},
		SessionID:    shim.SessionID(),
		Audit:        shim.Audit{Path: s.Home.Audit()},
		Env:          isolate.FilterEnv(environ, s.Cfg.Terminal.EnvPassthrough, dotenv),
		Secrets:      shim.SecretSet(environ, dotenv, true, ageValues...),
		Stdin:        os.Stdin,
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
		Log:          s.Log,
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

// WantTTY reports whether the command gets a pseudo-terminal: only when
// the caller itself is on a terminal at both ends.
func WantTTY() bool {
	return pty.IsTerminal(os.Stdin) && pty.IsTerminal(os.Stdout)
}

// loadAdminPolicy reads /etc/hermes-exec/policy.yaml for the calling user
// (the kernel's uid, never $USER) and tightens cfg with it.
func loadAdminPolicy(cfg *config.Config, log *logrus.Logger) (adminpolicy.Effective, error) {
	eff, err := adminpolicy.ForUID(os.Getuid())
	if err != nil {
		return eff, err
	}
	for _, note := range eff.Apply(cfg) {
		log.Info(note)
	}
	return eff, nil
}
