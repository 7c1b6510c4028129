package sandboxexec

import (
	"fmt"
	"os"
	"path/filepath"

	"hermes-exec/internal/hermeshome"
	"hermes-exec/isolate"
	"hermes-exec/policy/config"
)

// The sandbox registers itself with isolate's backend registry: a program
// that imports this package can open "sandbox" by name.
func init() {
	isolate.Register(isolate.Registration{
		Name:      config.BackendSandbox,
		Contained: true,
		Open: func(c isolate.Context) (isolate.Backend, error) {
			o, err := OptionsFrom(c)
			if err != nil {
				return nil, err
			}
			return New(o)
		},
	})
}

// OptionsFrom turns the container section of config.yaml into sandbox
// options.
func OptionsFrom(c isolate.Context) (Options, error) {
	cc := c.Config.Container
	o := Options{
		StateDir:    stateDir(c.HermesHome),
		HermesHome:  c.HermesHome,
		Workspace:   cc.Workspace,
		Rootfs:      cc.Rootfs,
		Network:     cc.Network,
		CPUs:        cc.CPUs,
		Pids:        cc.Pids,
		Persist:     cc.Persist,
		Idle:        cc.Idle,
		Passthrough: c.Config.Terminal.EnvPassthrough,
		// nil (not in config.yaml) means the sandbox's defaults.
		HomeReadable:   cc.HomeReadable,
		ProtectedPaths: cc.ProtectedPaths,
		ExecChecks:     c.Config.Terminal.ExecChecks == config.ExecChecksOn,
	}
	var err error
	if cc.Memory != "" {
		if o.Memory, err = config.ParseBytes(cc.Memory); err != nil {
			return o, fmt.Errorf("container.memory: %w", err)
		}
	}
	if cc.TmpfsSize != "" {
		if o.TmpfsSize, err = config.ParseBytes(cc.TmpfsSize); err != nil {
			return o, fmt.Errorf("container.tmpfs_size: %w", err)
		}
	}
	// An empty workspace is the working directory, taken by the sandbox
	// itself (execproto.Options.WithDefaults), which then fixes a
	// session's workspace at its first command.
	return o, nil
}

// stateDir is where sandbox state lives: /run for root, the user's
// runtime directory otherwise.
func stateDir(home string) string {
	if os.Geteuid() == 0 {
		return "/run/hermes-exec/sandbox"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "hermes-exec", "sandbox")
	}
	return filepath.Join(hermeshome.Layout{Dir: home}.Run(), "sandbox")
}
