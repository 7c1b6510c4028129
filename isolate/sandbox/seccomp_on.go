//go:build seccomp

package sandbox

import (
	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// seccompBuilt is true when libcontainer can load seccomp filters (it needs
// the seccomp build tag and libseccomp).
const seccompBuilt = true

func defaultSeccomp(spec *specs.Spec) (*specs.LinuxSeccomp, error) {
	return seccomp.GetDefaultProfile(spec)
}
