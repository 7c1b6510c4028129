// Command hermes-exec-sandbox is the sandbox backend of hermes-exec in an
// executable of its own: it links libcontainer (cgo, libseccomp), which the
// main binary, on the path of every command, does not.
//
// hermes-exec starts it as `hermes-exec-sandbox run -- ARGV...` with the
// request (options, environment, terminal, session) in
// $HERMES_SANDBOX_REQUEST, after the command was classified and approved;
// `hermes-exec sandbox ls|rm|gc` replace themselves with it; after a fresh
// command hermes-exec starts `hermes-exec-sandbox spare` in the background
// to prepare the next one's container (isolate/sandbox/spare). It is not
// meant to be run by hand: it does no classification of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"hermes-exec/internal/exitcode"
	"hermes-exec/internal/phase"
	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox"
	"hermes-exec/isolate/sandboxexec"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// libcontainer re-executes this binary as a container's init, and the
	// session reaper runs as its pid 1: neither returns from here.
	sandbox.Init()
	phase.Mark("sandbox-main")

	// `hermes-exec doctor` checks that the helper comes from the same
	// build as hermes-exec.
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(version)
		return
	}

	req, err := sandboxexec.ReadRequest()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: sandbox: %v\n", err)
		os.Exit(exitcode.Denied)
	}
	if len(os.Args) > 1 && os.Args[1] == "run" {
		os.Exit(run(req, os.Args[2:]))
	}
	if len(os.Args) == 2 && os.Args[1] == "spare" {
		// hermes-exec starts it in the background after a fresh
		// command; nobody reads its output.
		if err := sandbox.PrepareSpare(req.Options, req.SpareFor); err != nil {
			fmt.Fprintf(os.Stderr, "hermes-exec: sandbox spare: %v\n", err)
			os.Exit(1)
		}
		return
	}
	app := &cli.App{
		Name:  "hermes-exec sandbox",
		Usage: "list, remove or collect the sandbox backend's containers",
		Commands: sandboxCommand(func(*cli.Context) (sandbox.Options, error) {
			return req.Options, nil
		}).Subcommands,
		Description: sandboxDescription,
	}
	if err := app.Run(os.Args); err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "hermes-exec: sandbox: %v\n", err)
		os.Exit(1)
	}
}

// run runs one approved command and returns its status as bash reports it.
func run(req sandboxexec.Request, args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "hermes-exec: sandbox: run needs a command")
		return exitcode.Denied
	}
	be, err := sandbox.New(req.Options)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: sandbox: %v\n", err)
		return exitcode.Denied
	}
	st, err := be.Run(context.Background(), isolate.Spec{
		Args:    args,
		Env:     req.Env,
		Dir:     req.Dir,
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		TTY:     req.TTY,
		Session: req.Session,
		// The wrapper's socket for exec checks (the sandbox refuses
		// to start when they are on and it is missing).
		ExecChecks: req.ExecChecks,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: sandbox: %v\n", err)
		if isolate.IsNotFound(err) {
			return exitcode.NotFound
		}
		return exitcode.CannotExec
	}
	if st.Reason != "" {
		fmt.Fprintf(os.Stderr, "hermes-exec: %s\n", st.Reason)
	}
	return st.Code
}
