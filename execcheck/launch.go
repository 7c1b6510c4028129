package execcheck

import (
	"hermes-exec/internal/exitcode"

	"fmt"
	"os"
	"runtime"
	"syscall"

	"hermes-exec/execcheck/filter"
	"hermes-exec/execcheck/handoff"

	"golang.org/x/sys/unix"
)

// LaunchArg is the hidden first argument that makes hermes-exec the
// launcher: `hermes-exec LaunchArg PATH ARGV...` installs the filter,
// hands the listener to the wrapper over the unix socket named by
// EnvSocket, and executes PATH with ARGV from the same thread.
const LaunchArg = "__exec-check-launch"

// EnvSocket names the socket the launcher hands the listener to. It is
// removed from the environment before the command runs.
const EnvSocket = "HERMES_EXEC_CHECK_SOCKET"

// LaunchMain is the launcher. It returns only on failure, with bash's
// status: the command never runs unchecked (126), or it does not exist
// (127).
func LaunchMain(args []string) int {
	// The filter is installed on this thread only (a listener cannot be
	// synchronised to the runtime's other threads), and the exec below
	// must come from the same thread: the kernel ends every other thread
	// at exec and the command inherits this one's filter.
	runtime.LockOSThread()
	sock := os.Getenv(EnvSocket)
	os.Unsetenv(EnvSocket)
	if len(args) < 2 || sock == "" {
		fmt.Fprintln(os.Stderr, "hermes-exec: denied: exec checks: the launcher was started without its socket or command")
		return exitcode.Denied
	}
	path, argv := args[0], args[1:]
	if err := handOver(sock); err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: denied: exec checks: %v\n", err)
		return exitcode.Denied
	}
	err := syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "hermes-exec: %s: %v\n", path, err)
	return exitcode.StartFailure(err)
}

// handOver installs the filter and sends its listener to the wrapper,
// then waits for the wrapper to say it is serving it. The launcher keeps
// no copy: the command must never hold the listener (it could answer for
// its own children).
func handOver(sock string) error {
	fd, _, err := filter.Install()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return handoff.Send(sock, []byte{1}, fd)
}
