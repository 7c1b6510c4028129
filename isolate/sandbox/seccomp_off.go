//go:build !seccomp

package sandbox

import "github.com/opencontainers/runc/libcontainer/configs"

// seccompBuilt is false without the seccomp build tag: libcontainer could
// not load the filter, and a sandbox without it is refused (fail closed).
const seccompBuilt = false

// cachedSeccomp has nothing to compile with: no sandbox starts anyway.
func cachedSeccomp(string, *configs.Seccomp) (*bpfProgram, error) { return nil, nil }

func seccompCompileMain() int { return 126 }
