package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/exitcode"
)

// execArg is the mode of a command's starter in a rootless session
// container: libcontainer starts this binary (passed in as reaperExeFd) as
//
//	BINARY sandbox-userns UID GID sandbox-exec -- ARGV...
//
// so that the constructor in userns.go moves it into the caller's user
// namespace; it then becomes the command, keeping its pid, stdio, terminal
// and session, so the wrapper waits for and signals the command itself.
// It is recognised only after usernsArg (see Init).
const execArg = "sandbox-exec"

// lifelineArg follows execArg when fd execLifelineFd is the read end of a
// pipe whose write end only the helper holds: the starter's supervisor
// (userns.go) kills the command when it reads EOF.
const (
	lifelineArg    = "--lifeline"
	execLifelineFd = 4
)

// execMain replaces the process with ARGV. It returns only when that
// fails, with bash's status: 127 not found, 126 not executable.
func execMain(args []string) int {
	_ = unix.Close(reaperExeFd)
	if len(args) > 0 && args[0] == lifelineArg {
		// The constructor's supervisor holds the lifeline (userns.go).
		_ = unix.Close(execLifelineFd)
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "hermes-exec: sandbox: missing command")
		return exitcode.CannotExec
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		code := exitcode.StartFailure(err)
		fmt.Fprintf(os.Stderr, "hermes-exec: %s: %v\n", args[0], unwrapExecErr(err))
		return code
	}
	err = syscall.Exec(path, args, os.Environ())
	fmt.Fprintf(os.Stderr, "hermes-exec: %s: %v\n", args[0], err)
	return exitcode.StartFailure(err)
}
