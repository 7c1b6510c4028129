package sandboxexec

import (
	"fmt"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
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
		StateDir:    execproto.DefaultStateDir(c.HermesHome),
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
		NoSpare:        cc.Spare == config.SpareOff,
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
