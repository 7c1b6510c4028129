package main

import (
	"os"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/doctor"

	"github.com/urfave/cli/v2"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check HERMES_HOME, the configuration and this machine; exit 1 on any error",
		UsageText: "hermes-exec doctor [--json] [--fix]",
		Description: `One line per check: ok, warn or error, and for the others what to do (->).
It checks HERMES_HOME (0700, yours) and its files (config.yaml, .env,
.env.age, the identity, audit logs, session and pairing state: regular
files, not symlinks, 0600, yours); that config.yaml parses; approvals.mode
and yolo switches; allowlist entries that are too broad (bash, rm, sudo,
curl, python3 ...) or can never match; deny rules that shadow nothing;
GATEWAY_ALLOW_ALL_USERS; the gateway, its certificate and approvers; the
sandbox backend's needs (namespaces, cgroups and which limits can be
enforced, seccomp, libseccomp, hermes-exec-sandbox of the same version);
containerd; secret files inside a git work tree that git does not ignore;
and the audit log's hash chain.

--fix repairs file modes and ownership, and nothing else, through
descriptors opened without following symlinks; it prints what it changed.

Exit status: 0 no errors (warnings allowed), 1 errors, 64 usage.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: `print {"results":[{"check","status","message","fix","fixed"}],"errors":N,"warnings":N}`},
			&cli.BoolFlag{Name: "fix", Usage: "repair modes and ownership"},
			&cli.StringFlag{Name: "config", Usage: "configuration file", DefaultText: "$HERMES_HOME/config.yaml"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			exe, _ := os.Executable()
			cfg := globalsFrom(c).Config
			if cfg == "" {
				cfg = wrapper.HomeLayout().Config()
			}
			rs := doctor.Run(doctor.Options{
				Home:       wrapper.HomeLayout().Dir,
				ConfigPath: cfg,
				Executable: exe,
				Version:    version,
				Fix:        c.Bool("fix"),
				UID:        os.Geteuid(),
				GID:        os.Getegid(),
			})
			if c.Bool("json") {
				if err := doctor.PrintJSON(os.Stdout, rs); err != nil {
					return err
				}
			} else {
				doctor.Print(os.Stdout, rs)
			}
			if doctor.Errors(rs) > 0 {
				return exitCoder{1}
			}
			return nil
		},
	}
}
