// Command hermes-exec-admin holds hermes-exec's subcommands: the gateway,
// doctor, audit, secrets, the sandboxes and images, the supervisor, check,
// run, allowlist and the rest. hermes-exec runs it (exec, same argv,
// descriptors and process) for every command line that is not the shell's
// (-c, a script, stdin) or an agent's hook, so that the shell, which an
// agent starts for every command, does not load the daemons' code. It is
// installed next to hermes-exec and is found only there.
package main

import (
	"fmt"
	"os"

	"hermes-exec/approval/gateway"
	"hermes-exec/approval/gatewayexec"
	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/execcheck"
	"hermes-exec/internal/exitcode"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// globalOpts and usageError are the wrapper's, shared with hermes-exec.
type (
	globalOpts = wrapper.Globals
	usageError = wrapper.UsageError
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == execcheck.LaunchArg {
		// `run` under exec checks starts its command through the running
		// program as the launcher (hidden): see package execcheck.
		os.Exit(execcheck.LaunchMain(os.Args[2:]))
	}
	if len(os.Args) == 3 && os.Args[1] == gatewayexec.Arg {
		// The shell asking the gateway (hidden): see approval/gatewayexec.
		os.Exit(gateway.ServePipe(os.Args[2], os.Stdin, os.Stdout))
	}
	if err := wrapper.CheckSubcommandName(); err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
		os.Exit(exitcode.Denied)
	}
	os.Exit(runApp(os.Args))
}
