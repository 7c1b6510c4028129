// Package sandboxexec runs the sandbox backend in its own executable,
// hermes-exec-sandbox, installed next to hermes-exec.
//
// The sandbox embeds libcontainer, which needs cgo and libseccomp and brings
// a large dependency tree (netlink, dbus, eBPF, ...). Every host command
// would pay for initialising all of it at start-up, so the main binary stays
// a small static program and only sandboxed commands start the helper, the
// way containerd keeps runc in a binary of its own. A command for a session
// container that already runs does not even need the helper: the main
// binary asks the container's reaper to start it (session.go).
package sandboxexec

import (
	"context"

	"hermes-exec/internal/sibling"
	"hermes-exec/isolate"
	"hermes-exec/isolate/helperexec"
	"hermes-exec/isolate/sandbox/execproto"
)

// HelperName is the helper's file name, looked up next to hermes-exec.
const HelperName = sibling.Sandbox

// RequestEnv carries the Request to the helper, as JSON. The helper's own
// environment holds nothing else: the command's environment travels inside
// the request and is applied by the sandbox.
const RequestEnv = "HERMES_SANDBOX_REQUEST"

// Options are the sandbox's options, shared with the helper (see
// execproto.Options for each field).
type Options = execproto.Options

// EnvPrefix starts the helper's variables that carry the command's
// environment, one variable each (HERMES_SANDBOX_ENV_0=NAME=value...): in
// the request's JSON, a caller's environment over 128 KiB would make one
// string longer than the kernel takes (E2BIG), and no sandbox would start.
const EnvPrefix = "HERMES_SANDBOX_ENV_"

// Request is what one helper run needs besides its argv (the command's argv
// follows "run --" on the helper's command line).
type Request struct {
	Options Options
	Env     []string `json:"-"` // travels in EnvPrefix variables

	Dir     string
	TTY     bool
	Session string
	// ExecChecks is the wrapper's socket for the command's seccomp
	// listeners (isolate.Spec.ExecChecks); required when
	// Options.ExecChecks is on.
	ExecChecks string `json:",omitempty"`
	// SpareFor, for `hermes-exec-sandbox spare`, identifies the
	// hermes-exec that will take the spare (spare.HelperID of its
	// executable): part of the spare's key, since that program computes
	// the key it compares.
	SpareFor string `json:",omitempty"`
}

// helper is how hermes-exec-sandbox is found and started.
var helper = helperexec.Helper{
	Backend: "sandbox", Name: HelperName, PathEnv: "HERMES_SANDBOX_HELPER",
	RequestEnv: RequestEnv, EnvPrefix: EnvPrefix,
	// The caller's home (whose secrets it hides), the runtime directory
	// (whose sockets it hides), the tools and terminal it may describe;
	// HERMES_PHASES=1 makes it print its phases too (internal/phase).
	Vars: []string{"HOME", "XDG_RUNTIME_DIR", "HERMES_HOME", "PATH", "LANG", "TERM", "HERMES_PHASES"},
}

// HelperPath finds hermes-exec-sandbox next to the running executable
// (helperexec.Helper.Path).
func HelperPath() (string, error) { return helper.Path() }

// New returns the sandbox backend. It fails when the helper is missing,
// so that a sandbox that cannot start is a denial, not a host run.
func New(o Options) (isolate.Backend, error) {
	helper, err := HelperPath()
	if err != nil {
		return nil, err
	}
	return &backend{helper: helper, opts: o, host: isolate.NewHost()}, nil
}

type backend struct {
	helper string
	opts   Options
	host   isolate.Backend
}

func (b *backend) Name() string { return "sandbox" }

// DeliversExecChecks reports that this backend puts every exec of its
// commands under libcontainer's seccomp agent when exec checks are on, and
// hands the listeners to Spec.ExecChecks (see package execcheck).
func (b *backend) DeliversExecChecks() bool { return b.opts.ExecChecks }

// Run starts the helper through the host backend, which hands it the
// caller's files, forwards signals and kills it if the wrapper dies; the
// helper in turn does the same for the container. The helper exits with
// the command's status as bash reports it. A command for a running
// session container skips the helper when it can (session.go).
func (b *backend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	if st, ok := b.runInSession(ctx, s); ok {
		return st, nil
	}
	// A fresh command: in the spare made after the last one, else in a
	// container the helper makes now; then the next spare is made.
	defer b.prepareSpare(s)
	if st, ok := b.runInSpare(ctx, s); ok {
		return st, nil
	}
	return helper.Run(ctx, b.host, b.helper, Request{Options: b.opts, Dir: s.Dir, TTY: s.TTY, Session: s.Session, ExecChecks: s.ExecChecks}, s)
}

// HelperCommand is the argv and environment of a helper run of argv for
// req (the supervisor starts helpers for its users this way too).
func HelperCommand(path string, req Request, argv []string) (args, env []string, err error) {
	return helper.Command(path, req, req.Env, argv)
}

// Manage replaces the process with `hermes-exec-sandbox ARGS...` for the
// `hermes-exec sandbox ls|rm|gc` subcommands. It returns only on error.
func Manage(o Options, args []string) error { return helper.Exec(Request{Options: o}, args) }

func helperEnv(req []byte) []string { return helper.Env(req, nil) }

// ReadRequest is the request hermes-exec sent to this helper, from its
// environment. Without one the helper must refuse to run anything: it is
// never a way around the classifier.
func ReadRequest() (Request, error) {
	var req Request
	env, err := helper.Read(&req)
	req.Env = env
	return req, err
}
