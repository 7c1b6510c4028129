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
	"strconv"
	"strings"
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
	args, env, err := HelperCommand(b.helper, Request{Options: b.opts, Env: s.Env, Dir: s.Dir, TTY: s.TTY, Session: s.Session}, s.Args)
	if err != nil {
		return isolate.Status{}, err
	}
	return b.host.Run(ctx, isolate.Spec{
		Args:   args,
		Env:    env,
		Stdin:  s.Stdin,
		Stdout: s.Stdout,
		Stderr: s.Stderr,
		// The helper is ours and handles the terminal itself; the
		// command inside the container has no way to it.
		ShareTerminal: true,
	})
}

// HelperCommand is the argv and environment of a helper run of argv for
// req (the supervisor starts helpers for its users this way too).
func HelperCommand(helper string, req Request, argv []string) (args, env []string, err error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	args = append([]string{helper, "run", "--"}, argv...)
	env = helperEnv(raw)
	for i, kv := range req.Env {
		env = append(env, EnvPrefix+strconv.Itoa(i)+"="+kv)
	}
	return args, env, nil
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
// HERMES_PHASES=1 makes the helper print its phases too (internal/phase).
var helperVars = []string{"HOME", "XDG_RUNTIME_DIR", "HERMES_HOME", "PATH", "LANG", "TERM", "HERMES_PHASES"}

func helperEnv(req []byte) []string {
	env := []string{RequestEnv + "=" + string(req)}
	for _, k := range helperVars {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// ReadRequest is the request hermes-exec sent to this helper, from its
// environment. Without one the helper must refuse to run anything: it is
// never a way around the classifier.
func ReadRequest() (Request, error) {
	var req Request
	raw, ok := os.LookupEnv(RequestEnv)
	if !ok {
		return req, fmt.Errorf("%s is started by hermes-exec (use hermes-exec --backend sandbox -c CMD, or hermes-exec sandbox ls)", HelperName)
	}
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		return req, fmt.Errorf("bad request: %v", err)
	}
	byIndex := map[int]string{}
	for _, kv := range os.Environ() {
		rest, ok := strings.CutPrefix(kv, EnvPrefix)
		if !ok {
			continue
		}
		num, val, ok := strings.Cut(rest, "=")
		if n, err := strconv.Atoi(num); ok && err == nil && n >= 0 {
			byIndex[n] = val
		}
	}
	for i := 0; i < len(byIndex); i++ {
		v, ok := byIndex[i]
		if !ok {
			return req, fmt.Errorf("bad request: %s%d is missing", EnvPrefix, i)
		}
		req.Env = append(req.Env, v)
	}
	return req, nil
}
