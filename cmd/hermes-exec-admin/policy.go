package main

import (
	"hermes-exec/internal/exitcode"

	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/urfave/cli/v2"

	"hermes-exec/adminpolicy"
)

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "show the administrator's policy (/etc/hermes-exec/policy.yaml) as it applies to you",
		Description: `An administrator's /etc/hermes-exec/policy.yaml caps what every user's
config.yaml may ask for: allowed backends, memory, cpus, pids and tmpfs of the
sandbox, deny rules added to everyone's, approvals.mode off and --yolo
forbidden, a ceiling for approvals.timeout, and the supervisor's per-user caps.
A user's config can narrow it, never widen it. The file and every directory
above it must be root's and writable by no one else; otherwise (and when it
does not parse) every command is denied with the reason.`,
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "print the effective policy (default, your groups, your user entry, merged)",
			UsageText: "hermes-exec policy show [--user NAME]   (--user: root only)",
			Flags:     []cli.Flag{&cli.StringFlag{Name: "user", Usage: "show it for another user (root only)"}},
			Action: func(c *cli.Context) error {
				uid := os.Getuid()
				if name := c.String("user"); name != "" {
					if uid != 0 {
						return usageError("--user is for root: others see their own policy")
					}
					n, err := lookupUID(name)
					if err != nil {
						return err
					}
					uid = n
				}
				if err := adminpolicy.ShowFor(os.Stdout, uid); err != nil {
					fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
					return exitCoder{exitcode.Denied}
				}
				return nil
			},
		}},
	}
}

func lookupUID(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Uid)
}
