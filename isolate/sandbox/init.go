package sandbox

import (
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor joins and creates the namespaces when the
	// binary is re-executed as "init"; it must be linked into main.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// reaperArg is the argv[1] of the in-container init (see reaper.go).
const reaperArg = "sandbox-reaper"

// Init must be the first thing main does. When libcontainer re-executes the
// binary as "init" to set a container up, or when the binary runs as a
// container's reaper, Init never returns. Otherwise it returns at once.
//
// Both cases are recognised by more than argv[1], so that a user's
// `hermes-exec init` is never taken for one: libcontainer's init always has
// its sync pipe in the environment, and the reaper is always pid 1 of its
// pid namespace.
func Init() {
	if len(os.Args) < 2 {
		return
	}
	if os.Args[1] == usernsArg {
		// The constructor in userns.go has already run: strip its
		// arguments, or stop if it did not get the process there.
		if !usernsEntered() || len(os.Args) < 5 {
			fmt.Fprintln(os.Stderr, "hermes-exec: sandbox: not in the caller's user namespace; refusing to run")
			os.Exit(126)
		}
		os.Args = append(os.Args[:1:1], os.Args[4:]...)
		if os.Args[1] == execArg {
			os.Exit(execMain(os.Args[2:]))
		}
	}
	switch os.Args[1] {
	case "init":
		if os.Getenv("_LIBCONTAINER_INITPIPE") != "" {
			libcontainer.Init() // never returns
		}
	case reaperArg:
		if os.Getpid() == 1 {
			os.Exit(reaperMain(os.Args[2:]))
		}
	case seccompCompileArg:
		if len(os.Args) == 2 && os.Getenv(seccompCompileEnv) == "1" {
			os.Exit(seccompCompileMain())
		}
	}
}
