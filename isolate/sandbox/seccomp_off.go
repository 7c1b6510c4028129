//go:build !seccomp

package sandbox

import (
	"errors"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// seccompBuilt is false without the seccomp build tag: libcontainer could
// not load the filter, and a sandbox without it is refused (fail closed).
const seccompBuilt = false

func defaultSeccomp(*specs.Spec) (*specs.LinuxSeccomp, error) {
	return nil, errors.New("built without seccomp support")
}
