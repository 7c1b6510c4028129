package sandbox

import (
	"fmt"
	"os"
	"strconv"

	"github.com/opencontainers/runc/libcontainer/exeseal"
)

// sealExe is the copy of this binary a container's processes run from
// (reaperExeFd): sealed, so the container cannot modify the host's. For a
// rootless container it is also execute-only, which makes the processes
// started from it non-dumpable. That is a second lock on the processes that
// run under the container's first seccomp filter alone (see userns.go): the
// first is the kernel's, which lets a process ptrace one in another user
// namespace only with CAP_SYS_PTRACE over that namespace, which a command
// never has.
func (b *backend) sealExe() (*os.File, error) {
	exe, err := exeseal.CloneSelfExe(b.o.StateDir)
	if err != nil {
		return nil, err
	}
	// A root runtime's sealed copy is a read-only mount that cannot be
	// chmodded; its nested processes make themselves non-dumpable instead
	// (the reapers and the starter's supervisor).
	if b.tmpl.rootless {
		if err := exe.Chmod(0o111); err != nil {
			exe.Close()
			return nil, fmt.Errorf("making the sealed binary execute-only: %w", err)
		}
	}
	return exe, nil
}

// inCallerUserns prefixes the argv of a process that runs commands (a
// fresh container's reaper, a session command's starter) so that, in a
// rootless container, it first enters the caller's user namespace
// (userns.go). argv[0] stays the binary.
func (b *backend) inCallerUserns(args []string) []string {
	if !b.tmpl.nested {
		return args
	}
	out := []string{args[0], usernsArg, strconv.Itoa(b.tmpl.owner.UID), strconv.Itoa(b.tmpl.owner.GID)}
	return append(out, args[1:]...)
}
