package containerdexec

import (
	"hermes-exec/isolate"
	"hermes-exec/isolate/sandboxexec"
	"hermes-exec/policy/config"
)

// The containerd backend registers itself with isolate's backend registry:
// a program that imports this package can open "containerd" by name.
func init() {
	isolate.Register(isolate.Registration{
		Name:      config.BackendContainerd,
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

// OptionsFrom turns the container section of config.yaml into the
// backend's options: the sandbox's reading of the shared keys (workspace,
// limits, network, persistence), plus container.containerd and
// container.image. The state directory is the backend's own (WithDefaults).
func OptionsFrom(c isolate.Context) (Options, error) {
	so, err := sandboxexec.OptionsFrom(c)
	if err != nil {
		return Options{}, err
	}
	so.StateDir = ""
	cc := c.Config.Container
	return Options{Options: so, Address: cc.Containerd.Address, Namespace: cc.Containerd.Namespace, Image: cc.Image}, nil
}
