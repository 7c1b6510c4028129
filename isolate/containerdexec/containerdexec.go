// Package containerdexec runs the containerd backend in its own executable,
// hermes-exec-containerd, installed next to hermes-exec.
//
// The containerd v2 client brings gRPC, protobuf and the image machinery:
// tens of megabytes that every host command would pay to load. So the main
// binary stays small and static, and only commands for the containerd
// backend (and `hermes-exec image ...`) start the helper, as
// isolate/sandboxexec does for libcontainer. Nothing here imports the
// client: `go list -deps ./cmd/hermes-exec` is checked for that.
package containerdexec

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"

	"hermes-exec/internal/sibling"
	"hermes-exec/isolate"
	"hermes-exec/isolate/helperexec"
	"hermes-exec/isolate/sandbox/execproto"
)

// HelperName is the helper's file name, looked up next to hermes-exec.
const HelperName = sibling.Containerd

// RequestEnv carries the Request to the helper, as JSON.
const RequestEnv = "HERMES_CONTAINERD_REQUEST"

// CgroupParent holds every container's cgroup (CgroupParent/ID in each
// hierarchy): apart from the embedded sandbox's, whose collector sweeps
// what it finds in its own.
const CgroupParent = "/hermes-exec-containerd"

// OOMCounter is the file that counts container id's out-of-memory kills;
// ok is false when there is none (no such cgroup: do not guess).
func OOMCounter(id string) (path string, ok bool) { return execproto.OOMCounterIn(CgroupParent, id) }

// Defaults of the containerd settings.
const (
	DefaultAddress   = "/run/containerd/containerd.sock"
	DefaultNamespace = "hermes-exec"
)

// Options are the containerd backend's options: the sandbox's (workspace,
// limits, network, persistence; the same meaning and defaults), plus where
// containerd is and which image gives the root filesystem.
type Options struct {
	execproto.Options
	// Address is containerd's socket (container.containerd.address).
	Address string
	// Namespace is the containerd namespace every container, image and
	// snapshot of hermes-exec lives in (container.containerd.namespace).
	Namespace string
	// Image names an image in that namespace (container.image); empty
	// means the host's "/", read-only.
	Image string
}

// WithDefaults fills in the containerd defaults and the sandbox's. The
// state directory is the backend's own, beside the sandbox's and never
// inside it (sandbox gc owns that one).
func (o Options) WithDefaults() (Options, error) {
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(filepath.Dir(execproto.DefaultStateDir(o.hermesHome())), "containerd")
	}
	var err error
	o.Options, err = o.Options.WithDefaults()
	return o, err
}

func (o Options) hermesHome() string {
	if o.HermesHome != "" {
		return o.HermesHome
	}
	if h := os.Getenv("HERMES_HOME"); h != "" {
		return h
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".hermes")
}

// SessionID is the container id of a session: the sandbox's rule, over
// everything that shapes this backend's container. o must have its
// defaults.
func (o Options) SessionID(session string) string {
	return execproto.SessionID(session, o.Fingerprint()+"\x00containerd\x00"+o.Address+"\x00"+o.Namespace+"\x00"+o.Image)
}

// Request is what one helper run needs besides its argv.
type Request struct {
	Options Options
	Env     []string `json:"-"` // travels in EnvPrefix variables (helperexec)
	Dir     string
	TTY     bool
	Session string
}

// EnvPrefix starts the helper's variables that carry the command's
// environment, one each.
const EnvPrefix = "HERMES_CONTAINERD_ENV_"

// helper is how hermes-exec-containerd is found and started.
var helper = helperexec.Helper{
	Backend: "containerd", Name: HelperName, PathEnv: "HERMES_CONTAINERD_HELPER",
	RequestEnv: RequestEnv, EnvPrefix: EnvPrefix,
	// The caller's home (whose secrets it hides), the runtime directory,
	// the terminal it draws progress on, the skill's environment file.
	Vars: []string{"HOME", "XDG_RUNTIME_DIR", "HERMES_HOME", "PATH", "LANG", "TERM", "HERMES_SKILL_ENV", "HERMES_PHASES"},
	// The helper lives for one command, and the containerd client's
	// start-up (its packages' tables and patterns) is mostly garbage by
	// the time it runs: collecting it costs a fresh container more CPU
	// (about 4 ms, bench/containerd) than the memory it would free.
	Fixed: []string{"GOGC=400"},
}

// HelperPath finds hermes-exec-containerd next to the running executable
// (helperexec.Helper.Path).
func HelperPath() (string, error) { return helper.Path() }

// ReadRequest is, in the helper, the request hermes-exec sent.
func ReadRequest() (Request, error) {
	var req Request
	env, err := helper.Read(&req)
	req.Env = env
	return req, err
}

// New returns the containerd backend. A missing helper is an error, so that
// a backend that cannot start is a denial, never a host run.
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

func (b *backend) Name() string { return "containerd" }

// Run starts the helper through the host backend, which hands it the
// caller's files, forwards signals and kills it if the wrapper dies (the
// helper's lifeline lock then tells the container). The helper exits with
// the command's status as bash reports it.
func (b *backend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	if st, ok := b.runInSession(ctx, s); ok {
		return st, nil
	}
	return helper.Run(ctx, b.host, b.helper, Request{Options: b.opts, Dir: s.Dir, TTY: s.TTY, Session: s.Session}, s)
}

// Manage replaces the process with `hermes-exec-containerd ARGS...`, for
// `hermes-exec image ...`. It returns only on error.
func Manage(o Options, args []string) error { return helper.Exec(Request{Options: o}, args) }

// Command is `hermes-exec-containerd ARGS...` as a child process with the
// request in its environment, for callers that combine its output with
// another's (sandbox ls).
func Command(o Options, args ...string) (*exec.Cmd, error) {
	path, err := helper.Path()
	if err != nil {
		return nil, err
	}
	req, err := json.Marshal(Request{Options: o})
	if err != nil {
		return nil, err
	}
	c := exec.Command(path, args...)
	c.Env = helper.Env(req, nil)
	return c, nil
}
