//go:build !seccomp

package sandbox

// seccompBuilt is false without the seccomp build tag: libcontainer could
// not load the filter, and a sandbox without it is refused (fail closed).
const seccompBuilt = false
