//go:build seccomp

package sandbox

// seccompBuilt is true when libcontainer can load seccomp filters (it needs
// the seccomp build tag and libseccomp). The profile itself is
// isolate/ocispec's.
const seccompBuilt = true
