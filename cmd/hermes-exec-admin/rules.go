package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"hermes-exec/policy"

	"github.com/urfave/cli/v2"
)

func rulesCommand() *cli.Command {
	return &cli.Command{
		Name:      "rules",
		Usage:     "list the built-in danger catalog",
		UsageText: "hermes-exec rules [--json]",
		Description: `Lists every built-in rule: its id (the "rule" of a finding in check --json
and the audit log), what it is about, its decision (ask: a human must
approve; deny: never runs, even with --yolo) and the programs whose own
handlers report it, or for a rule no single program owns, what it applies
to (the shell text itself, or every program).

JSON output: [{"id":ID,"description":TEXT,"decision":"ask|deny",
"class":CLASS,"programs":[NAME...],"applies":TEXT}]`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the catalog as JSON"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("rules takes no arguments")
			}
			cat := policy.Catalog()
			if c.Bool("json") {
				return json.NewEncoder(c.App.Writer).Encode(cat)
			}
			printRules(c.App.Writer, cat)
			return nil
		},
	}
}

func printRules(w io.Writer, cat []policy.RuleInfo) {
	for _, r := range cat {
		fmt.Fprintf(w, "%-26s %-4s %s\n", r.ID, r.Decision, r.Description)
		progs := r.Applies
		if len(r.Programs) > 0 {
			progs = strings.Join(r.Programs, " ")
		}
		fmt.Fprintf(w, "%31s%s\n", "", progs)
	}
}
