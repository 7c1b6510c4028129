// Command hermes-exec-containerd is the containerd backend of hermes-exec in
// an executable of its own: it links the containerd v2 client, which the
// main binary, on the path of every command, does not.
//
// hermes-exec starts it as `hermes-exec-containerd run -- ARGV...` with the
// request (options, environment, terminal, session) in
// $HERMES_CONTAINERD_REQUEST, after the command was classified and
// approved; `hermes-exec image ...` replaces itself with it, and `hermes-exec
// sandbox ls|rm|gc` runs it beside the sandbox helper. It does no
// classification of its own and refuses to run without a request.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"hermes-exec/internal/phase"
	"hermes-exec/isolate"
	cdbackend "hermes-exec/isolate/containerd"
	"hermes-exec/isolate/containerdexec"
)

func main() {
	req, err := request()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: containerd: %v\n", err)
		os.Exit(126)
	}
	if len(os.Args) > 1 && os.Args[1] == "run" {
		os.Exit(run(req, os.Args[2:]))
	}
	app := &cli.App{
		Name:     "hermes-exec",
		HelpName: "hermes-exec",
		Usage:    "the containerd backend's images and containers",
		Commands: []*cli.Command{
			imageCommand(req.Options),
			sandboxCommand(req.Options),
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.Run(os.Args); err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, msg)
			}
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		os.Exit(1)
	}
}

// request reads what hermes-exec sent. Without one the helper refuses to
// run anything: it must never be a way around the classifier.
func request() (containerdexec.Request, error) { return containerdexec.ReadRequest() }

// run runs one approved command and returns its status as bash reports it.
// Every failure before the command starts is a denial (126) with the reason.
func run(req containerdexec.Request, args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "hermes-exec: containerd: run needs a command")
		return 126
	}
	be, err := cdbackend.New(req.Options)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
		return 126
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
	})
	phase.Mark("cd-done")
	if err != nil {
		if isolate.IsNotFound(err) {
			fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
			return 127
		}
		fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
		return 126
	}
	if st.Reason != "" {
		fmt.Fprintf(os.Stderr, "hermes-exec: %s\n", st.Reason)
	}
	return st.Code
}

// connect opens the client for a management command.
func connect(o containerdexec.Options) (*cdClient, error) {
	o, err := cdbackend.Normalize(o)
	if err != nil {
		return nil, err
	}
	cl, ctx, err := cdbackend.Connect(context.Background(), o)
	if err != nil {
		return nil, err
	}
	return &cdClient{Client: cl, ctx: ctx, o: o}, nil
}
