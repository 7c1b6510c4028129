package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"hermes-exec/isolate/sandbox"
	"hermes-exec/isolate/sandbox/execproto"
)

const sandboxDescription = `With terminal.backend: sandbox (or --backend sandbox) every command runs in a
container made in-process by hermes-exec. With container.persist: session (the
default) one container is kept per HERMES_SESSION_ID, so files written outside
the workspace (/tmp, installed tools) stay for the next command; it is removed
after container.idle (default 30m) without commands. With container.persist:
none each command gets a fresh container that is destroyed when it ends.

Every sandbox command already collects what a killed wrapper left and expired
sessions; these subcommands do it by hand.`

// sandboxCommand is `hermes-exec sandbox ls|rm|gc`: looking after the
// containers of the sandbox backend. opts turns the configuration into the
// sandbox's options (state directory, idle timeout).
func sandboxCommand(opts func(*cli.Context) (sandbox.Options, error)) *cli.Command {
	return &cli.Command{
		Name:        "sandbox",
		Usage:       "list, remove or collect the sandbox backend's containers",
		Description: sandboxDescription,
		Subcommands: []*cli.Command{
			{
				Name:      "ls",
				Usage:     "list the sandbox containers",
				UsageText: "hermes-exec sandbox ls [--json]",
				Description: `Lists each container of this HERMES_HOME (root's state directory is shared by
every HERMES_HOME; each sees its own): its id, kind (session or fresh), session
id, status, host pid of its init, when a command last started in it, whether one
runs now, and its workspace.`,
				Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array instead of a table"}},
				Action: func(c *cli.Context) error {
					o, err := opts(c)
					if err != nil {
						return err
					}
					list, err := sandbox.List(o)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						enc := json.NewEncoder(os.Stdout)
						enc.SetIndent("", "  ")
						return enc.Encode(list)
					}
					return printSandboxes(list)
				},
			},
			{
				Name:      "rm",
				Usage:     "kill and remove containers",
				UsageText: "hermes-exec sandbox rm ID|SESSION... | --all",
				Description: `Kills everything running in the named containers (by container id as shown by
"sandbox ls", or by session id) and removes their cgroups and state. A command
running in one ends with status 137.`,
				Flags: []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "remove every sandbox container of this HERMES_HOME"}},
				Action: func(c *cli.Context) error {
					o, err := opts(c)
					if err != nil {
						return err
					}
					ids := c.Args().Slice()
					if c.Bool("all") {
						if len(ids) > 0 {
							return cli.Exit("hermes-exec: sandbox rm: give ids or --all, not both", 2)
						}
						list, err := sandbox.List(o)
						if err != nil {
							return err
						}
						for _, in := range list {
							ids = append(ids, in.ID)
						}
						if len(ids) == 0 {
							return nil
						}
					}
					if len(ids) == 0 {
						return cli.Exit("hermes-exec: sandbox rm: which container? (see hermes-exec sandbox ls, or --all)", 2)
					}
					if err := sandbox.Remove(o, ids...); err != nil {
						return cli.Exit("hermes-exec: sandbox rm: "+err.Error(), 1)
					}
					return nil
				},
			},
			{
				Name:      "gc",
				Usage:     "remove idle sessions and what killed wrappers left",
				UsageText: "hermes-exec sandbox gc",
				Description: `Removes session containers unused for longer than container.idle, containers
whose wrapper was killed, and stray cgroups and state. Containers with a command
running are never touched. Prints the ids it removed.`,
				Action: func(c *cli.Context) error {
					o, err := opts(c)
					if err != nil {
						return err
					}
					removed, err := sandbox.GC(o)
					for _, id := range removed {
						fmt.Println(id)
					}
					if err != nil {
						return cli.Exit("hermes-exec: sandbox gc: "+err.Error(), 1)
					}
					return nil
				},
			},
		},
	}
}

func printSandboxes(list []sandbox.Info) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, execproto.ListHeader)
	for _, in := range list {
		fmt.Fprintln(w, execproto.ListRow(in.ID, in.Kind, in.Session, in.Status, in.Pid, in.LastUsed, in.InUse, in.Workspace))
	}
	return w.Flush()
}
