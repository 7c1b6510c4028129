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
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
)

// HelperName is the helper's file name, looked up next to hermes-exec.
const HelperName = "hermes-exec-sandbox"

// RequestEnv carries the Request to the helper, as JSON. The helper's own
// environment holds nothing else: the command's environment travels inside
// the request and is applied by the sandbox.
const RequestEnv = "HERMES_SANDBOX_REQUEST"

// Options are the sandbox's options, shared with the helper (see
// execproto.Options for each field).
type Options = execproto.Options

// Request is what one helper run needs besides its argv (the command's argv
// follows "run --" on the helper's command line).
type Request struct {
	Options Options
	Env     []string
	Dir     string
	TTY     bool
	Session string
}

// HelperPath finds hermes-exec-sandbox: $HERMES_SANDBOX_HELPER if set,
// else next to the running executable, else in PATH.
func HelperPath() (string, error) {
	if p := os.Getenv("HERMES_SANDBOX_HELPER"); p != "" {
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), HelperName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(HelperName)
	if err != nil {
		return "", fmt.Errorf("the sandbox backend needs %s next to hermes-exec or in PATH (make build installs both)", HelperName)
	}
	return p, nil
}

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

// Run starts the helper through the host backend, which hands it the
// caller's files, forwards signals and kills it if the wrapper dies; the
// helper in turn does the same for the container. The helper exits with
// the command's status as bash reports it. A command for a running
// session container skips the helper when it can (session.go).
func (b *backend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	if st, ok := b.runInSession(ctx, s); ok {
		return st, nil
	}
	req, err := json.Marshal(Request{Options: b.opts, Env: s.Env, Dir: s.Dir, TTY: s.TTY, Session: s.Session})
	if err != nil {
		return isolate.Status{}, err
	}
	args := append([]string{b.helper, "run", "--"}, s.Args...)
	return b.host.Run(ctx, isolate.Spec{
		Args:   args,
		Env:    helperEnv(req),
		Stdin:  s.Stdin,
		Stdout: s.Stdout,
		Stderr: s.Stderr,
		// The helper is ours and handles the terminal itself; the
		// command inside the container has no way to it.
		ShareTerminal: true,
	})
}

// Manage replaces the process with `hermes-exec-sandbox ARGS...` for the
// `hermes-exec sandbox ls|rm|gc` subcommands. It returns only on error.
func Manage(o Options, args []string) error {
	helper, err := HelperPath()
	if err != nil {
		return err
	}
	req, err := json.Marshal(Request{Options: o})
	if err != nil {
		return err
	}
	argv := append([]string{helper}, args...)
	err = syscall.Exec(helper, argv, helperEnv(req))
	return errors.Join(fmt.Errorf("starting %s", helper), err)
}

// helperVars are the wrapper's own variables the helper needs to find
// things: the caller's home (whose secrets it hides), the runtime directory
// (whose sockets it hides), and the tools and terminal it may describe.
// Nothing secret is among them; the command's environment is in the request.
var helperVars = []string{"HOME", "XDG_RUNTIME_DIR", "HERMES_HOME", "PATH", "LANG", "TERM"}

func helperEnv(req []byte) []string {
	env := []string{RequestEnv + "=" + string(req)}
	for _, k := range helperVars {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
