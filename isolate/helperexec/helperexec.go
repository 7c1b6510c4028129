// Package helperexec starts a backend's helper executable: the program
// that links what the static wrapper must not (libcontainer for the
// sandbox, the containerd client), installed next to hermes-exec. It finds
// the helper, puts the request in its environment and reads it back there,
// the same way for every backend (isolate/sandboxexec,
// isolate/containerdexec). It imports nothing heavy: the wrapper links it.
package helperexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"hermes-exec/internal/sibling"
	"hermes-exec/isolate"
)

// Helper describes one backend's helper.
type Helper struct {
	Backend string // the backend's name, for messages
	Name    string // the helper's file name, looked up next to hermes-exec
	PathEnv string // a variable that names the helper instead
	// RequestEnv carries the request, as JSON. The command's environment
	// travels in EnvPrefix variables, one each (EnvPrefix0=NAME=value...):
	// inside the JSON, a caller's environment over 128 KiB would make one
	// string longer than the kernel takes (E2BIG), and nothing would start.
	RequestEnv, EnvPrefix string
	// Vars are the wrapper's own variables the helper gets (to find the
	// caller's home and runtime directory, to draw on the terminal).
	// Nothing secret belongs among them.
	Vars []string
	// Fixed are variables the helper always gets (NAME=value).
	Fixed []string
}

// Path finds the helper next to the running executable (sibling.Find:
// never from PATH; test builds also take $PathEnv).
func (h Helper) Path() (string, error) {
	p, err := sibling.Find(h.Name, h.PathEnv)
	if errors.Is(err, sibling.ErrMissing) {
		return "", fmt.Errorf("the %s backend needs %s next to hermes-exec (%s); make build makes it, make install installs it", h.Backend, h.Name, filepath.Dir(p))
	}
	if err != nil {
		return "", fmt.Errorf("the %s backend: %w", h.Backend, err)
	}
	return p, nil
}

// Env is the helper's environment for a request (JSON) and the command's
// environment.
func (h Helper) Env(req []byte, cmdEnv []string) []string {
	env := append([]string{h.RequestEnv + "=" + string(req)}, h.Fixed...)
	for _, k := range h.Vars {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for i, kv := range cmdEnv {
		env = append(env, h.EnvPrefix+strconv.Itoa(i)+"="+kv)
	}
	return env
}

// Command is the argv and environment of a helper run of argv: `HELPER run
// -- ARGV...` with req (whose command environment must not be in its JSON)
// and cmdEnv in the environment.
func (h Helper) Command(helper string, req any, cmdEnv, argv []string) (args, env []string, err error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	return append([]string{helper, "run", "--"}, argv...), h.Env(raw, cmdEnv), nil
}

// Exec replaces the process with `HELPER ARGS...` for req, for management
// commands. It returns only on error.
func (h Helper) Exec(req any, args []string) error {
	helper, err := h.Path()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return err
	}
	err = syscall.Exec(helper, append([]string{helper}, args...), h.Env(raw, nil))
	return errors.Join(fmt.Errorf("starting %s", helper), err)
}

// Read is, in the helper, the request hermes-exec sent (into req) and the
// command's environment. Without one the helper must refuse to run
// anything: it is never a way around the classifier.
func (h Helper) Read(req any) (cmdEnv []string, err error) {
	raw, ok := os.LookupEnv(h.RequestEnv)
	if !ok {
		return nil, fmt.Errorf("%s is started by hermes-exec (use hermes-exec --backend %s -c CMD)", h.Name, h.Backend)
	}
	if err := json.Unmarshal([]byte(raw), req); err != nil {
		return nil, fmt.Errorf("bad request: %v", err)
	}
	byIndex := map[int]string{}
	for _, kv := range os.Environ() {
		rest, ok := strings.CutPrefix(kv, h.EnvPrefix)
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
			return nil, fmt.Errorf("bad request: %s%d is missing", h.EnvPrefix, i)
		}
		cmdEnv = append(cmdEnv, v)
	}
	return cmdEnv, nil
}

// Run runs the helper at path for s through host (the host backend), which
// hands it the caller's files, forwards signals and kills it if the wrapper
// dies; the helper in turn does the same for its container. The helper
// exits with the command's status as bash reports it. req carries
// everything but s's argv and environment.
func (h Helper) Run(ctx context.Context, host isolate.Backend, path string, req any, s isolate.Spec) (isolate.Status, error) {
	args, env, err := h.Command(path, req, s.Env, s.Args)
	if err != nil {
		return isolate.Status{}, err
	}
	return host.Run(ctx, isolate.Spec{
		Args:   args,
		Env:    env,
		Stdin:  s.Stdin,
		Stdout: s.Stdout,
		Stderr: s.Stderr,
		// The helper is ours and handles the terminal itself (raw mode,
		// the window size); the command inside gets a pseudo-terminal of
		// the container's, never the caller's terminal.
		ShareTerminal: true,
	})
}
