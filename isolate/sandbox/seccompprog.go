package sandbox

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate/seccompbpf"
)

// The compiled form of a fresh container's seccomp filter (seccompcache.go)
// and its loading by the reaper, which need no libseccomp.

// seccompCompileArg is the argv[1] of the child that compiles a profile.
const seccompCompileArg = "sandbox-seccomp-compile"

// seccompCompileEnv marks that child's environment, so that a user's
// `hermes-exec-sandbox sandbox-seccomp-compile` is not taken for it.
const seccompCompileEnv = "_HERMES_SECCOMP_COMPILE"

// bpfProgram is a loaded-ready seccomp filter (isolate/seccompbpf, which
// the containerd backend's init shares).
type bpfProgram = seccompbpf.Program

// reaperSetup is what a fresh container's reaper gets at reaperSetupFd when
// it installs the filter itself (seccompbpf.Setup: the program, then the
// command's environment).
func reaperSetup(p *bpfProgram, env []string) (*os.File, error) {
	fd, err := unix.MemfdCreate("hermes-exec-reaper-setup", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "reaper-setup")
	b := seccompbpf.Setup(p, env)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// applyReaperSetup is the reaper's side: it loads the filter on every thread
// and takes the command's environment as its own (seccompbpf.Apply).
func applyReaperSetup() error {
	f := os.NewFile(reaperSetupFd, "reaper-setup")
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("reading the reaper's setup: %w", err)
	}
	return seccompbpf.Apply(b)
}
