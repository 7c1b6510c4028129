package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"hermes-exec/agenthook"
	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/internal/exitcode"
	"hermes-exec/internal/sibling"
)

// runApp runs a subcommand. An agent's hook (`hook AGENT`, run before
// every command) is answered here; every other subcommand, and every
// command line that is not plainly that, is hermes-exec-admin's: it
// replaces this process with the same argv, environment and descriptors,
// so exit statuses and signals are its own, as if it were this program.
func runApp(argv []string) int {
	if g, agent, ok := hookArgs(argv[1:]); ok {
		// The hook too is judged by the program's name (`hermes-exec hook`
		// fed a made-up event is denied: its "ask" leaves a grant for the
		// agent's next shell), so a link under another name is refused,
		// with the hook's own failure status, which blocks the call.
		if err := wrapper.CheckSubcommandName(); err != nil {
			fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
			return agenthook.FailureExit
		}
		wrapper.OneShot()
		return wrapper.RunHook(agent, g, os.Stdin, os.Stdout, os.Stderr)
	}
	return execAdmin(argv)
}

// hookArgs recognises `[GLOBAL OPTIONS] hook AGENT` in the forms the
// shell's own option parser reads (takeGlobal). Anything else about hook,
// such as --help or a mistake, goes to hermes-exec-admin, which answers it
// with the full command line parser.
func hookArgs(args []string) (globalOpts, string, bool) {
	g, i := leadingGlobals(args)
	rest := args[i:]
	if len(rest) != 2 || rest[0] != "hook" || rest[1] == "" || rest[1][0] == '-' {
		return g, "", false
	}
	return g, rest[1], true
}

// execAdmin replaces hermes-exec with hermes-exec-admin for argv. It
// returns only when that cannot be done: 127 when the program is not
// installed next to hermes-exec, 126 when it cannot be run, as bash says
// for a command.
func execAdmin(argv []string) int {
	// Checked here too: hermes-exec-admin, exec'd from its own place,
	// would see only its own name.
	if err := wrapper.CheckSubcommandName(); err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
		return exitcode.Denied
	}
	path, err := wrapper.AdminPath()
	if errors.Is(err, sibling.ErrMissing) {
		fmt.Fprintf(os.Stderr, "hermes-exec: %s: the subcommands are in %s, which is not installed next to hermes-exec (%s); make build makes it, make install installs it\n",
			subcommandName(argv), wrapper.AdminName, filepath.Dir(path))
		return exitcode.NotFound
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: %s: %v\n", subcommandName(argv), err)
		return exitcode.CannotExec
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "hermes-exec: starting %s: %v\n", path, err)
	return exitcode.CannotExec
}

// subcommandName is the subcommand a command line names, for messages.
func subcommandName(argv []string) string {
	args := argv[1:]
	if _, i := leadingGlobals(args); i < len(args) {
		return args[i]
	}
	return "help"
}
