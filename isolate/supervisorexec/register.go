package supervisorexec

import (
	"fmt"

	"hermes-exec/isolate"
	"hermes-exec/policy/config"
)

// The supervisor backend registers itself with isolate's backend registry
// (terminal.backend: supervisor).
func init() {
	isolate.Register(isolate.Registration{
		Name:      config.BackendSupervisor,
		Contained: true,
		Open: func(c isolate.Context) (isolate.Backend, error) {
			o, err := OptionsFrom(c)
			if err != nil {
				return nil, err
			}
			return New(o), nil
		},
	})
}

// OptionsFrom turns the user's container section into the wishes sent to
// the supervisor (which caps them with the administrator's policy);
// HERMES_HOME and the workspace travel as descriptors opened as the user.
func OptionsFrom(c isolate.Context) (Options, error) {
	cc := c.Config.Container
	if cc.Rootfs != "" {
		return Options{}, fmt.Errorf("container.rootfs is not available through the supervisor (root would have to open a path you name)")
	}
	req := Request{
		CPUs: cc.CPUs, Pids: cc.Pids, Network: cc.Network, Persist: cc.Persist, Idle: cc.Idle,
		Passthrough: c.Config.Terminal.EnvPassthrough, HomeReadable: cc.HomeReadable, ProtectedPaths: cc.ProtectedPaths,
	}
	var err error
	if cc.Memory != "" {
		if req.Memory, err = config.ParseBytes(cc.Memory); err != nil {
			return Options{}, fmt.Errorf("container.memory: %w", err)
		}
	}
	if cc.TmpfsSize != "" {
		if req.TmpfsSize, err = config.ParseBytes(cc.TmpfsSize); err != nil {
			return Options{}, fmt.Errorf("container.tmpfs_size: %w", err)
		}
	}
	return Options{Request: req, HermesHome: c.HermesHome, Workspace: cc.Workspace}, nil
}
