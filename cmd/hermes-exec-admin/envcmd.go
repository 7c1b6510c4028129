package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/isolate"
	"hermes-exec/policy/config"

	"github.com/urfave/cli/v2"
)

func envCommand() *cli.Command {
	return &cli.Command{
		Name:      "env",
		Usage:     "list the environment variables commands will not see, and why (names only, never values)",
		UsageText: "hermes-exec env",
		Description: `On the host backend a command sees the caller's environment less the
variables listed here: secret-looking names, names defined in
$HERMES_HOME/.env, and hermes-exec's own switches. Values are never
printed. Add a name to terminal.env_passthrough in config.yaml to let it
through. The same list is logged with --log-level debug.`,
		Action: func(c *cli.Context) error {
			s, err := wrapper.Load(globalsFrom(c))
			if err != nil {
				return err
			}
			dotenv, err := config.DotEnvNames(s.Home.Env())
			if err != nil {
				return err
			}
			dropped := isolate.DroppedNames(os.Environ(), s.Cfg.Terminal.EnvPassthrough, dotenv)
			if len(dropped) == 0 {
				fmt.Println("no variable is withheld from commands")
				return nil
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tWHY")
			for _, d := range dropped {
				fmt.Fprintf(tw, "%s\t%s\n", d.Name, d.Reason)
			}
			return tw.Flush()
		},
	}
}
